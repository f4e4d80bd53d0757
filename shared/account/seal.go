package account

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// sealer seals second-factor secrets with AES-256-GCM. The account ID is the additional
// data, so a sealed secret cannot be moved to another account.
type sealer struct {
	load func(ctx context.Context) ([]byte, error)
	mu   sync.Mutex
	aead cipher.AEAD
}

func (s *sealer) get(ctx context.Context) (cipher.AEAD, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aead != nil {
		return s.aead, nil
	}
	if s.load == nil {
		return nil, errors.New("seal key: none configured")
	}
	key, err := s.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("seal key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	if s.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	return s.aead, nil
}

const sealPrefix = "v1."

func (s *sealer) sealFor(ctx context.Context, accountID, plain string) (string, error) {
	aead, err := s.get(ctx)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(plain), []byte(accountID))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

func (s *sealer) openFor(ctx context.Context, accountID, sealed string) (string, error) {
	aead, err := s.get(ctx)
	if err != nil {
		return "", err
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, sealPrefix))
	if err != nil || !strings.HasPrefix(sealed, sealPrefix) || len(raw) < aead.NonceSize() {
		return "", errors.New("open sealed secret: malformed")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], []byte(accountID))
	if err != nil {
		return "", fmt.Errorf("open sealed secret: %w", err)
	}
	return string(plain), nil
}

// StaticKey is a SealKey that is always key (a key file, a test).
func StaticKey(key []byte) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) { return key, nil }
}
