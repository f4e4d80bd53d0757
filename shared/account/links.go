package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// links are the single-use tokens of emailed links (unlock, reset, invitation, login-ID
// change): issued, read, used and retired, each tied to its account.
type links struct {
	*tenantCache
	tokens   Tokens
	accounts Accounts
	log      *slog.Logger
	now      func() time.Time
}

// issueToken stores a new single-use token like t (purpose, account, steps), valid for
// ttl, and returns it (the only copy).
func (li *links) issueToken(ctx context.Context, t Token, ttl time.Duration) (string, error) {
	token, err := randomToken()
	if err != nil {
		return "", err
	}
	now := li.now().UTC()
	t.IDHash, t.CreatedAt, t.ExpiresAt = HashToken(token), now, now.Add(ttl)
	if err := li.tokens.CreateToken(ctx, t); err != nil {
		return "", fmt.Errorf("store %s token: %w", t.Purpose, err)
	}
	return token, nil
}

// redeem consumes an emailed token of purpose and returns its account. Malformed,
// unknown, used, expired and orphaned tokens are all invalid_token.
func (li *links) redeem(ctx context.Context, token, purpose string) (Account, error) {
	return li.tokenAccount(ctx, token, func(hash string) (Token, error) {
		return li.tokens.ConsumeToken(ctx, hash, purpose, li.now().UTC())
	})
}

// tokenAccount finds the account of a live token, which take looks up (and perhaps uses
// up) by its hash. A token outlives nothing: once its account is deleted it is invalid
// for good, since a new account with the same login ID has another account_id.
func (li *links) tokenAccount(ctx context.Context, token string, take func(hash string) (Token, error)) (Account, error) {
	invalid := codeErr(CodeInvalidToken)
	if !wellFormedToken(token) {
		return Account{}, invalid
	}
	t, err := take(HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return Account{}, invalid
	} else if err != nil {
		return Account{}, fmt.Errorf("token: %w", err)
	}
	a, err := li.accounts.GetAccount(ctx, t.TenantID, t.AccountID)
	if errors.Is(err, ErrNotFound) || err == nil && t.CreatedAt.Before(a.TokensAfter) {
		return Account{}, invalid // the account is gone, or its password changed since
	} else if err != nil {
		return Account{}, fmt.Errorf("token account: %w", err)
	}
	return a, nil
}

// wellFormedToken reports whether token looks like one of ours: 32 bytes, URL-safe base64.
func wellFormedToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	for _, r := range token {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// unlockLink stores a new unlock link for a, valid for ttl: the token and its record.
func (li *links) unlockLink(ctx context.Context, a Account, ttl time.Duration) (string, Token, error) {
	token, err := li.issueToken(ctx, Token{Purpose: PurposeUnlock, TenantID: a.TenantID, AccountID: a.ID}, ttl)
	if err != nil {
		return "", Token{}, err
	}
	now := li.now().UTC()
	return token, Token{IDHash: HashToken(token), Purpose: PurposeUnlock, TenantID: a.TenantID, AccountID: a.ID, CreatedAt: now, ExpiresAt: now.Add(ttl)}, nil
}

// peek returns the account and tenant settings of a live token without using it up.
func (li *links) peek(ctx context.Context, token, purpose string) (Account, Settings, error) {
	_, a, set, err := li.peekLink(ctx, token, purpose)
	return a, set, err
}

// peekLink is peek that also returns the link's token. A link used this way is spent by
// the change it makes, in the same conditional write: the change moves the account's
// TokensAfter past the link (spend), and is guarded by the link being live (linkLive),
// so a change that fails leaves the link usable and two uses cannot both change. The
// token item is removed afterwards (retire), as tidying only.
func (li *links) peekLink(ctx context.Context, token, purpose string) (Token, Account, Settings, error) {
	var t Token
	a, err := li.tokenAccount(ctx, token, func(hash string) (Token, error) {
		var err error
		t, err = li.tokens.PeekToken(ctx, hash, purpose, li.now().UTC())
		return t, err
	})
	if err != nil {
		return Token{}, Account{}, Settings{}, err
	}
	if a.UsesIdP() && (purpose == PurposeReset || purpose == PurposeInvite) {
		return Token{}, Account{}, Settings{}, codeErr(CodeInvalidToken) // no Kagiya password to set
	}
	set, err := li.settingsOf(ctx, a.TenantID)
	return t, a, set, err
}

// retire removes a spent link's token; it is void already, so a failure is only logged.
func (li *links) retire(ctx context.Context, t Token) {
	if _, err := li.tokens.ConsumeToken(ctx, t.IDHash, t.Purpose, li.now().UTC()); err != nil && !errors.Is(err, ErrNotFound) {
		li.log.WarnContext(ctx, "a spent link's token was not removed", "purpose", t.Purpose, "err", err)
	}
}
