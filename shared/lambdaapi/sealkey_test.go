package lambdaapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/lambdaapi"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/store/boltstore"
)

// keyService stands in for KMS (no local KMS server exists to test against): a
// "ciphertext" is the plaintext under a one-time pad it remembers, so only it can
// decrypt, and only with the encryption context it was made with.
type keyService struct {
	pads      map[string][]byte
	decrypted int
}

func (k *keyService) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	plain, pad := make([]byte, 32), make([]byte, 32)
	rand.Read(plain)
	rand.Read(pad)
	ct := make([]byte, 32)
	for i := range ct {
		ct[i] = plain[i] ^ pad[i]
	}
	k.pads[string(ct)+in.EncryptionContext["purpose"]] = pad
	return &kms.GenerateDataKeyOutput{Plaintext: plain, CiphertextBlob: ct}, nil
}

func (k *keyService) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	pad, ok := k.pads[string(in.CiphertextBlob)+in.EncryptionContext["purpose"]]
	if !ok {
		return nil, errors.New("InvalidCiphertextException")
	}
	k.decrypted++
	plain := make([]byte, 32)
	for i := range plain {
		plain[i] = in.CiphertextBlob[i] ^ pad[i]
	}
	return &kms.DecryptOutput{Plaintext: plain}, nil
}

// oneDataKey has two instances open the seal key through keys (backed by ks) on a fresh
// store: the first makes it, the second decrypts the same one. It returns the store and
// the key.
func oneDataKey(t *testing.T, keys lambdaapi.KeyService, ks *keyService) (*boltstore.Store, []byte) {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	first, err := lambdaapi.SealKeyFromKMS(keys, st, "alias/kagiya")(ctx)
	if err != nil || len(first) != 32 {
		t.Fatalf("first instance: %v", err)
	}
	second, err := lambdaapi.SealKeyFromKMS(keys, st, "alias/kagiya")(ctx)
	if err != nil || !bytes.Equal(first, second) || ks.decrypted != 1 {
		t.Fatalf("a later instance gets another key (%v) or did not decrypt the stored one (%d)", err, ks.decrypted)
	}
	return st, first
}

func TestSealKeyIsOneDataKeyKeptEncrypted(t *testing.T) {
	ks := &keyService{pads: map[string][]byte{}}
	st, first := oneDataKey(t, ks, ks)
	stored, _ := st.Secret(context.Background(), "seal-data-key", nil)
	if bytes.Equal(stored, first) || len(stored) == 0 {
		t.Fatal("the data key is stored in the clear")
	}
}

// The functions hold the KMS client through lambdaapi.KMS: the same key, through the
// SDK's own requests to a server that answers as KMS does (the stand-in above, over HTTP).
func TestSealKeyThroughTheKMSClient(t *testing.T) {
	ks := &keyService{pads: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			KeyId             string
			CiphertextBlob    []byte
			EncryptionContext map[string]string
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var out any
		var err error
		switch r.Header.Get("X-Amz-Target") {
		case "TrentService.GenerateDataKey":
			out, err = ks.GenerateDataKey(r.Context(), &kms.GenerateDataKeyInput{KeyId: &in.KeyId, EncryptionContext: in.EncryptionContext})
		case "TrentService.Decrypt":
			out, err = ks.Decrypt(r.Context(), &kms.DecryptInput{CiphertextBlob: in.CiphertextBlob, EncryptionContext: in.EncryptionContext})
		default:
			err = errors.New("unexpected " + r.Header.Get("X-Amz-Target"))
		}
		if err != nil {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(400)
			w.Write([]byte(`{"__type":"InvalidCiphertextException","message":"no"}`))
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()
	c := lambdaapi.KMS(kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}))
	oneDataKey(t, c, ks)
}

// The deploy's setup invocation makes the first tenant and owner once; a second run
// changes nothing.
func TestSetupIsIdempotent(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := account.New(account.Deps{Store: st, Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		account.Config{Hash: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := lambdaapi.RunSetup(ctx, svc, lambdaapi.Setup{Owner: "owner@example.com", Password: "Kagi-2026-Tokyo!", Policy: "nist"})
	if err != nil || !first.Created || first.TenantID == "" {
		t.Fatalf("first run: %+v %v", first, err)
	}
	again, err := lambdaapi.RunSetup(ctx, svc, lambdaapi.Setup{Owner: "owner@example.com", Password: "Other-Pass-2026!"})
	if err != nil || again.Created {
		t.Fatalf("second run: %+v %v", again, err)
	}
	if res, err := svc.SignIn.Login(ctx, "owner@example.com", "Kagi-2026-Tokyo!", account.Client{IP: "192.0.2.1"}); err != nil || res.Token == "" {
		t.Fatalf("the owner signs in: %v", err)
	}
	if _, err := lambdaapi.RunSetup(ctx, svc, lambdaapi.Setup{Owner: "not-an-address", Password: "Kagi-2026-Tokyo!"}); err == nil {
		t.Fatal("a malformed owner was set up")
	}
}

func TestMailEventsMarkAccounts(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, _ := account.New(account.Deps{Store: st, Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		account.Config{Hash: password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}})
	ctx := context.Background()
	setup, _ := lambdaapi.RunSetup(ctx, svc, lambdaapi.Setup{Owner: "owner@example.com", Password: "Kagi-2026-Tokyo!"})
	msg := func(s string) events.SNSEventRecord {
		return events.SNSEventRecord{SNS: events.SNSEntity{MessageID: "m", Message: s}}
	}
	err = lambdaapi.MailEvents(ctx, svc, events.SNSEvent{Records: []events.SNSEventRecord{
		msg(`{"eventType":"Bounce","bounce":{"bounceType":"Transient","bouncedRecipients":[{"emailAddress":"owner@example.com"}]}}`),
		msg(`{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"NoEmail","bouncedRecipients":[{"emailAddress":"OWNER@example.com"},{"emailAddress":"nobody@example.com"}]}}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := account.FindAccount(ctx, st, "owner@example.com")
	if a.MailSuppressed != account.MailBounce {
		t.Fatalf("mark: %q", a.MailSuppressed)
	}
	evs, _, _ := st.ListAudit(ctx, setup.TenantID, "", 10)
	if len(evs) == 0 || evs[0].Action != "mail.bounce" || evs[0].Result != "ok:NoEmail" {
		t.Fatalf("audit: %+v", evs)
	}
	if err := lambdaapi.MailEvents(ctx, svc, events.SNSEvent{Records: []events.SNSEventRecord{msg("not json")}}); err == nil {
		t.Fatal("a malformed event passed")
	}
}
