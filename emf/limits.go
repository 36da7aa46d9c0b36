package emf

// The limits of the CloudWatch embedded metric format specification
// ("Specification: Embedded metric format", CloudWatch User Guide), which
// the exporter enforces on every document it writes rather than assumes.
const (
	// MaxMetricsPerDirective: "Metrics — An array of MetricDefinition
	// objects. This array MUST NOT contain more than 100 MetricDefinition
	// objects." A document with more metrics is split into several, each
	// with the same dimensions.
	MaxMetricsPerDirective = 100

	// MaxDimensionsPerSet: "A DimensionSet MUST NOT contain more than 30
	// dimension keys." The schema's DimensionSet has "maxItems": 30.
	MaxDimensionsPerSet = 30

	// MaxValuesPerMetric: "Numeric array metric targets MUST NOT have more
	// than 100 members." The exporter writes one number per metric, never
	// an array, so it cannot exceed it.
	MaxValuesPerMetric = 100

	// MaxEventSize: "The embedded metric format is subject to the same
	// limits as standard CloudWatch Logs events and are limited to a
	// maximum size of 1 MB." The exporter reads 1 MB as 1,000,000 bytes,
	// the smaller of its two readings; [WithMaxEventSize] lowers it (older
	// versions of the specification and of the CloudWatch agent had 256
	// KB).
	MaxEventSize = 1_000_000

	// MaxDimensionValueLength: "The target member MUST have a string value.
	// This value MUST NOT contain more than 1024 characters."
	MaxDimensionValueLength = 1024

	// MaxDimensionNameLength is the schema's DimensionReference
	// "maxLength": 250.
	MaxDimensionNameLength = 250

	// MaxMetricNameLength is the schema's MetricDefinition Name
	// "maxLength": 1024.
	MaxMetricNameLength = 1024

	// MaxNamespaceLength is the schema's Namespace "maxLength": 1024.
	MaxNamespaceLength = 1024
)

// The specification's schema gives every name the pattern "^(.*)$" with a
// minimum length of 1: no line terminator, never empty. The CloudWatch
// Dimension type it refers to adds that dimension names and values are
// ASCII, with at least one non-whitespace character, no ASCII control
// characters, and names do not start with a colon. The exporter applies the
// stricter rules to every name it writes (see sanitizeName).
