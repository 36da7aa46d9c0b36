package isolation

// policyVersion is the IAM policy language version of every built-in.
const policyVersion = "2012-10-17"

// The built-in templates grant the data-plane actions on one resource,
// scoped to one tenant. They are functions rather than variables so that no
// template is shared mutable state; each call parses a constant.

// DynamoDBLeadingKeys returns a template that allows item reads and writes
// on ${table} and its indexes only for items whose partition key is exactly
// the tenant ID (ForAllValues:StringEquals on dynamodb:LeadingKeys).
//
// Scan and PartiQL are not granted: they have no leading key, and
// ForAllValues holds vacuously for a request without one.
func DynamoDBLeadingKeys() *Template {
	return MustParseTemplate(`{"Version":"2012-10-17","Statement":[{
		"Sid":"TenantItems","Effect":"Allow",
		"Action":["dynamodb:GetItem","dynamodb:BatchGetItem","dynamodb:Query","dynamodb:PutItem","dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:BatchWriteItem","dynamodb:ConditionCheckItem"],
		"Resource":["${table}","${table}/index/*"],
		"Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["${tenant.id}"]}}}]}`)
}

// DynamoDBLeadingKeyPrefix is like [DynamoDBLeadingKeys] but also allows
// partition keys that start with the tenant ID and '#', as built by
// [PartitionKey] (ForAllValues:StringLike on dynamodb:LeadingKeys with
// "${tenant.id}" and "${tenant.id}#*"). Tenant IDs never contain '#', so
// tenant "a" cannot match the keys of tenant "ab". It is the default
// DynamoDB policy of the [Vendor].
func DynamoDBLeadingKeyPrefix() *Template {
	return MustParseTemplate(`{"Version":"2012-10-17","Statement":[{
		"Sid":"TenantItems","Effect":"Allow",
		"Action":["dynamodb:GetItem","dynamodb:BatchGetItem","dynamodb:Query","dynamodb:PutItem","dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:BatchWriteItem","dynamodb:ConditionCheckItem"],
		"Resource":["${table}","${table}/index/*"],
		"Condition":{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["${tenant.id}","${tenant.id}#*"]}}}]}`)
}

// S3Prefix returns a template that allows object reads and writes under
// ${bucket}/${tenant.id}/ (the keys [ObjectKey] builds) and ListBucket on
// ${bucket} only with an s3:prefix under the same prefix; a listing without
// a prefix is denied.
func S3Prefix() *Template {
	return MustParseTemplate(`{"Version":"2012-10-17","Statement":[{
		"Sid":"TenantObjects","Effect":"Allow",
		"Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:AbortMultipartUpload"],
		"Resource":"arn:${partition}:s3:::${bucket}/${tenant.id}/*"
	},{
		"Sid":"TenantListing","Effect":"Allow",
		"Action":"s3:ListBucket",
		"Resource":"arn:${partition}:s3:::${bucket}",
		"Condition":{"StringLike":{"s3:prefix":["${tenant.id}/","${tenant.id}/*"]}}}]}`)
}

// KMSTenantKey returns a template that allows encryption with the tenant's own
// KMS key, ${kmsKey}, and no other.
func KMSTenantKey() *Template {
	return MustParseTemplate(`{"Version":"2012-10-17","Statement":[{
		"Sid":"TenantKey","Effect":"Allow",
		"Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey","kms:DescribeKey"],
		"Resource":"${kmsKey}"}]}`)
}

// KMSTenantContext returns a template that allows data-key use of
// ${kmsKey} (GenerateDataKey, Decrypt, Encrypt) only under an encryption
// context whose tenant_id is the caller's TenantID session tag, and that
// has no other key. The tag is the one the credential vendor sets, so
// the condition holds for pooled keys too: a tenant's session cannot ask
// for a data key, or decrypt one, of another tenant.
//
// Its tenant value is the IAM policy variable ${aws:PrincipalTag/TenantID},
// which IAM evaluates, not a placeholder: the rendered policy is the same
// for every tenant of a key, so it also serves as a role's identity policy.
// IAM compares the names of kms:EncryptionContext: condition keys without
// regard to case; the kms:EncryptionContextKeys condition refuses a context
// that adds a look-alike key such as "Tenant_ID". A service that adds
// pairs of its own to the encryption context lists their keys there in a
// template of its own.
func KMSTenantContext() *Template {
	return MustParseTemplate(`{"Version":"2012-10-17","Statement":[{
		"Sid":"TenantKeyContext","Effect":"Allow",
		"Action":["kms:GenerateDataKey","kms:Decrypt","kms:Encrypt"],
		"Resource":"${kmsKey}",
		"Condition":{
			"StringEquals":{"kms:EncryptionContext:tenant_id":"${aws:PrincipalTag/TenantID}"},
			"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["tenant_id"]}}}]}`)
}
