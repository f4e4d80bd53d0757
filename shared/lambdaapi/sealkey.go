package lambdaapi

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KeyService is the part of KMS the seal key needs.
type KeyService interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMS is c as a KeyService, through its two methods' values (so that c's type never
// reaches an interface: see dynamostore.SDK).
func KMS(c *kms.Client) KeyService { return kmsCalls{c.GenerateDataKey, c.Decrypt} }

type kmsCalls struct {
	generate func(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	decrypt  func(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

func (k kmsCalls) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	return k.generate(ctx, in, opts...)
}

func (k kmsCalls) Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	return k.decrypt(ctx, in, opts...)
}

// SecretStore keeps a server secret, made on first use (account.Secrets).
type SecretStore interface {
	Secret(ctx context.Context, name string, fresh []byte) ([]byte, error)
}

// sealKeyName is the table's secret that holds the seal key, encrypted under KMS.
const sealKeyName = "seal-data-key"

// sealContext binds the data key to its purpose: KMS decrypts it for nothing else.
var sealContext = map[string]string{"purpose": "kagiya-seal-second-factor"}

// SealKeyFromKMS is the seal key of second-factor secrets by envelope encryption: a
// 256-bit data key made by KMS under keyID and kept in the table only as KMS
// ciphertext. The first instance to need it stores its own; every other decrypts the
// stored one. The plaintext key lives only in the memory of the instances.
func SealKeyFromKMS(keys KeyService, secrets SecretStore, keyID string) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		fresh, err := keys.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID),
			KeySpec: types.DataKeySpecAes256, EncryptionContext: sealContext})
		if err != nil {
			return nil, fmt.Errorf("SEAL_KMS_KEY: generate data key: %w", err)
		}
		stored, err := secrets.Secret(ctx, sealKeyName, fresh.CiphertextBlob)
		if err != nil {
			return nil, fmt.Errorf("seal data key: %w", err)
		}
		if bytes.Equal(stored, fresh.CiphertextBlob) {
			return fresh.Plaintext, nil
		}
		out, err := keys.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: stored, KeyId: aws.String(keyID), EncryptionContext: sealContext})
		if err != nil {
			return nil, fmt.Errorf("SEAL_KMS_KEY: decrypt data key: %w", err)
		}
		return out.Plaintext, nil
	}
}
