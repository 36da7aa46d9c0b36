// Package isolation gives each request AWS credentials that can reach only
// its tenant's data, so that a bug in application code still cannot read
// another tenant's DynamoDB items, S3 objects or KMS keys.
//
// # Placement
//
// Tenants are deployed in one of three models: [Pool] (shared resources,
// scoped per tenant by a session policy), [Silo] (the tenant's own
// resources and role, possibly in its own account) or [Bridge] (a model per
// resource). A [Resolver] maps a tenant and its tier to a [Placement]: for
// each [Resource] (a DynamoDB table, an S3 bucket, a KMS key) the role to
// assume, the region and the resource's name. [ConfigResolver] builds
// placements from a [Config] given as Go values or as strict JSON
// ([DecodeConfig], [LoadConfig]), with per-tier deployments and per-tenant
// overrides.
//
// # Policy templates
//
// A [Template] is a parsed IAM policy with ${...} placeholders in its
// string values. [Template.Render] checks every value (tenant IDs with
// tenant.ValidateID: no '*', '?', '/', '$', '{', quotes) before it
// substitutes them into the parsed structure, then encodes the minified
// policy and refuses one longer than [MaxSessionPolicyLen] before any call
// to STS. Built-ins: [DynamoDBLeadingKeys] and [DynamoDBLeadingKeyPrefix]
// (dynamodb:LeadingKeys), [S3Prefix] (object ARN and ListBucket with an
// s3:prefix condition) and [KMSTenantKey].
//
// # Credential vendor
//
// A [Vendor] calls STS AssumeRole (through an *sts.Client) with the
// rendered session policy, the session tags TenantID and Tier, and a
// RoleSessionName derived from the tenant, and returns an
// aws.CredentialsProvider for the tenant in the context
// ([Vendor.Credentials], or [Vendor.ContextProvider] for a client shared by
// all tenants). Credentials are cached per tenant in aws.CredentialsCache
// values within a bounded cache; the first requests of a tenant share one
// STS call, and credentials refresh before they expire, with jitter. STS
// failures are *[STSError] values that match [ErrThrottled],
// [ErrPolicyTooLarge], [ErrAccessDenied] or [ErrExpiredToken].
//
// # Keys
//
// [PartitionKey] and [ObjectKey] prefix DynamoDB partition keys and S3
// object keys with the tenant in the context, matching what the built-in
// policies allow; [CheckPartitionKey] and [CheckObjectKey] verify that a
// key read back belongs to that tenant.
//
// In a pooled bucket or table every top-level prefix is a tenant ID, so it
// should hold tenant data only: a file kept at "shared/config.json" beside
// the tenants is readable by a tenant named "shared". Keep such data
// elsewhere, or list its prefixes in [Config.ReservedIDs] so that no
// tenant with that ID is ever placed.
package isolation
