// Package kmsenvelope encrypts a tenant's data under the tenant's own KMS
// key (envelope encryption), so that disabling or deleting that key
// destroys the tenant's data (crypto-shredding). It is a module of its own,
// so that the AWS SDK's KMS client enters only the module graph of a
// service that imports it.
//
// The common case, with the tenant's key from its placement:
//
//	client := kms.NewFromConfig(cfg)
//	env, err := kmsenvelope.New(client, kmsenvelope.PlacementKeys(placements))
//	if err != nil { ... }
//
//	// in a handler, under the verified tenant's context:
//	sealed, err := env.Encrypt(ctx, []byte("card 4111..."), []byte("orders/42/card"))
//	plain, err := env.Decrypt(ctx, sealed, []byte("orders/42/card"))
//
// # Tenants and keys
//
// The tenant comes only from the context ([tenant.FromContext]); without
// one Encrypt and Decrypt return [ErrNoTenant] and call nothing. Its KMS
// key comes from a [KeyResolver]: [PlacementKeys] takes the KMSKey binding
// of an [isolation.Resolver]'s placement, [StaticKey] one pooled key for
// all. Every data key is generated and decrypted under an encryption
// context that carries tenant_id = the tenant's ID ([TenantContextKey]),
// plus the fixed pairs of [WithEncryptionContext], which can never replace
// it. KMS binds a data key to its encryption context, so Decrypt, which
// always asks under the context's tenant, cannot open another tenant's data
// even when both share a KMS key; IAM can enforce the same with
// isolation.KMSTenantContext. Decrypt names the tenant's current key in
// its KMS call, so a ciphertext sealed under an earlier key of the tenant
// fails with [ErrDecrypt]: re-encrypt a tenant's data before its placement
// names another key (KMS's own key rotation keeps the key ID, and needs
// nothing).
//
// # Credentials
//
// The client may sign with the service's own credentials or with the
// tenant's. A client whose Credentials are a vending.Vendor's
// ContextProvider(isolation.KMSKey) signs every call with the session of
// the tenant in the call's context: its session policy (with
// isolation.KMSTenantContext) lets KMS serve that tenant's encryption
// context only, and its role reaches a siloed tenant's key in the tenant's
// own account. A client serves one region: keys in several regions need
// an Envelope per region.
//
// # Format
//
// A ciphertext is self-describing and versioned: "TK", a version byte,
// the tenant ID, the encrypted data key, a random 96-bit nonce, and the
// AES-256-GCM ciphertext with its tag. The GCM additional data covers the
// whole header, the encryption context and the caller's associated data,
// so a changed byte anywhere fails with [ErrDecrypt]. A ciphertext of
// another tenant fails with [ErrWrongTenant] before any KMS call. The
// overhead is about 220 bytes ([Overhead]).
//
// # Cache and shredding latency
//
// KMS is called once per data key, not per record: the Envelope keeps, per
// tenant, one data key for encryption, used for at most [WithMaxMessages]
// messages and [WithMaxBytes] plaintext bytes, and the data keys KMS
// decrypted, by tenant and encrypted key; [WithMaxEntries] bounds both
// together. Every data key is used at most [WithMaxAge] after KMS returned
// it. That age is the shredding latency: once the tenant's key is disabled
// or scheduled for deletion, this process can still decrypt (and encrypt)
// with the data keys it holds until their age passes, and then fails with
// [ErrShredded]. Choose the age for that bound (default 5 minutes);
// [WithoutCache] makes it zero at one KMS call per operation.
//
// Plaintext data keys live in process memory while cached; Go gives no
// guarantee that the copies the AES implementation keeps are wiped.
package kmsenvelope
