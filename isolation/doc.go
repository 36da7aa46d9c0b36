// Package isolation says where each tenant's data lives and what a tenant's
// credentials may reach: placement (silo, pool, bridge), IAM session policy
// templates rendered per tenant, and key helpers that scope DynamoDB and S3
// keys to the tenant in the context. It needs no AWS SDK; package
// isolation/vending turns a placement into AWS credentials.
//
//	pk, err := isolation.PartitionKey(ctx, "order", orderID) // "acme#order#42"
//	if err != nil { // no tenant in ctx: refuse
//		return err
//	}
//	item, err := db.GetItem(ctx, ...) // with pk as the partition key
//	if _, err := isolation.CheckPartitionKey(ctx, item.PK); err != nil {
//		return err // the row belongs to another tenant
//	}
//
// # Placement
//
// Tenants are deployed in one of three models: [Pool] (shared resources,
// scoped per tenant by a session policy), [Silo] (the tenant's own
// resources and role, possibly in its own account) or [Bridge] (a model per
// resource). A [Resolver] maps a tenant and its tier to a [Placement]: for
// each [Resource] the role to assume, the region and the resource's name.
// [ConfigResolver] builds placements from a [Config] given as Go values or
// as strict JSON ([DecodeConfig], [LoadConfig]).
//
// # Policy templates
//
// A [Template] is a parsed IAM policy with ${...} placeholders in its
// string values. [Template.Render] checks every value before it
// substitutes it into the parsed structure (never into the text), and
// refuses a policy longer than [MaxSessionPolicyLen]. Built-ins:
// [DynamoDBLeadingKeys], [DynamoDBLeadingKeyPrefix], [S3Prefix],
// [KMSTenantKey] and [KMSTenantContext] (data keys only under the tenant's
// encryption context, as package kmsenvelope asks for them).
//
// In a pooled bucket or table every top-level prefix is a tenant ID, so it
// should hold tenant data only: a file kept at "shared/config.json" beside
// the tenants is readable by a tenant named "shared". Keep such data
// elsewhere, or list its prefixes in [Config.ReservedIDs].
package isolation
