package faults

import (
	"context"
	"time"

	"github.com/kagiya/kagiya/shared/account"
)

// Store passes every call to the store it wraps unless the plan fails it; the method
// names are account.Store's.
type Store struct {
	next account.Store
	plan *Plan
}

// NewStore wraps next with plan.
func NewStore(next account.Store, plan *Plan) *Store { return &Store{next: next, plan: plan} }

var _ account.Store = (*Store)(nil)

func (s *Store) AppendAudit(ctx context.Context, a1 account.AuditEvent) error {
	return s.plan.call("AppendAudit", func() error { return s.next.AppendAudit(ctx, a1) })
}

func (s *Store) ChangeLoginID(ctx context.Context, a1 account.Account, a2 string) (account.Account, error) {
	var r0 account.Account
	err := s.plan.call("ChangeLoginID", func() (err error) { r0, err = s.next.ChangeLoginID(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) ConsumeToken(ctx context.Context, a1 string, a2 string, a3 time.Time) (account.Token, error) {
	var r0 account.Token
	err := s.plan.call("ConsumeToken", func() (err error) { r0, err = s.next.ConsumeToken(ctx, a1, a2, a3); return err })
	return r0, err
}

func (s *Store) CreateAccount(ctx context.Context, a1 account.Account) error {
	return s.plan.call("CreateAccount", func() error { return s.next.CreateAccount(ctx, a1) })
}

func (s *Store) CreateCredential(ctx context.Context, a1 account.Credential) error {
	return s.plan.call("CreateCredential", func() error { return s.next.CreateCredential(ctx, a1) })
}

func (s *Store) CreateSession(ctx context.Context, a1 account.Session) error {
	return s.plan.call("CreateSession", func() error { return s.next.CreateSession(ctx, a1) })
}

func (s *Store) CreateTenant(ctx context.Context, a1 account.Tenant, a2 account.Account) error {
	return s.plan.call("CreateTenant", func() error { return s.next.CreateTenant(ctx, a1, a2) })
}

func (s *Store) CreateToken(ctx context.Context, a1 account.Token) error {
	return s.plan.call("CreateToken", func() error { return s.next.CreateToken(ctx, a1) })
}

func (s *Store) DeleteAccount(ctx context.Context, a1 string, a2 string) error {
	return s.plan.call("DeleteAccount", func() error { return s.next.DeleteAccount(ctx, a1, a2) })
}

func (s *Store) DeleteCredential(ctx context.Context, a1 string, a2 string, a3 string) error {
	return s.plan.call("DeleteCredential", func() error { return s.next.DeleteCredential(ctx, a1, a2, a3) })
}

func (s *Store) DeleteSession(ctx context.Context, a1 string, a2 string) error {
	return s.plan.call("DeleteSession", func() error { return s.next.DeleteSession(ctx, a1, a2) })
}

func (s *Store) GetAccount(ctx context.Context, a1 string, a2 string) (account.Account, error) {
	var r0 account.Account
	err := s.plan.call("GetAccount", func() (err error) { r0, err = s.next.GetAccount(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) GetAccountEventually(ctx context.Context, a1 string, a2 string) (account.Account, error) {
	var r0 account.Account
	err := s.plan.call("GetAccountEventually", func() (err error) { r0, err = s.next.GetAccountEventually(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) GetCredential(ctx context.Context, a1 string, a2 string, a3 string) (account.Credential, error) {
	var r0 account.Credential
	err := s.plan.call("GetCredential", func() (err error) { r0, err = s.next.GetCredential(ctx, a1, a2, a3); return err })
	return r0, err
}

func (s *Store) GetHistory(ctx context.Context, a1 string, a2 string) ([]string, error) {
	var r0 []string
	err := s.plan.call("GetHistory", func() (err error) { r0, err = s.next.GetHistory(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) GetSession(ctx context.Context, a1 string, a2 string) (account.Session, error) {
	var r0 account.Session
	err := s.plan.call("GetSession", func() (err error) { r0, err = s.next.GetSession(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) GetTenant(ctx context.Context, a1 string) (account.Tenant, error) {
	var r0 account.Tenant
	err := s.plan.call("GetTenant", func() (err error) { r0, err = s.next.GetTenant(ctx, a1); return err })
	return r0, err
}

func (s *Store) Hit(ctx context.Context, a1 string, a2 time.Time) (int, error) {
	var r0 int
	err := s.plan.call("Hit", func() (err error) { r0, err = s.next.Hit(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) ListAccounts(ctx context.Context, a1 string, a2 account.ListQuery) (account.AccountPage, error) {
	var r0 account.AccountPage
	err := s.plan.call("ListAccounts", func() (err error) { r0, err = s.next.ListAccounts(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) ListAudit(ctx context.Context, a1 string, a2 string, a3 int) ([]account.AuditEvent, string, error) {
	var (
		r0 []account.AuditEvent
		r1 string
	)
	err := s.plan.call("ListAudit", func() (err error) { r0, r1, err = s.next.ListAudit(ctx, a1, a2, a3); return err })
	return r0, r1, err
}

func (s *Store) ListCredentials(ctx context.Context, a1 string, a2 string) ([]account.Credential, error) {
	var r0 []account.Credential
	err := s.plan.call("ListCredentials", func() (err error) { r0, err = s.next.ListCredentials(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) ListSessions(ctx context.Context, a1 string) ([]account.Session, error) {
	var r0 []account.Session
	err := s.plan.call("ListSessions", func() (err error) { r0, err = s.next.ListSessions(ctx, a1); return err })
	return r0, err
}

func (s *Store) Lock(ctx context.Context, a1 string, a2 string, a3 int, a4 time.Time, a5 time.Time) (bool, error) {
	var r0 bool
	err := s.plan.call("Lock", func() (err error) { r0, err = s.next.Lock(ctx, a1, a2, a3, a4, a5); return err })
	return r0, err
}

func (s *Store) LookupLogin(ctx context.Context, a1 string) (account.LoginRef, error) {
	var r0 account.LoginRef
	err := s.plan.call("LookupLogin", func() (err error) { r0, err = s.next.LookupLogin(ctx, a1); return err })
	return r0, err
}

func (s *Store) PeekToken(ctx context.Context, a1 string, a2 string, a3 time.Time) (account.Token, error) {
	var r0 account.Token
	err := s.plan.call("PeekToken", func() (err error) { r0, err = s.next.PeekToken(ctx, a1, a2, a3); return err })
	return r0, err
}

func (s *Store) PutHistory(ctx context.Context, a1 string, a2 string, a3 []string) error {
	return s.plan.call("PutHistory", func() error { return s.next.PutHistory(ctx, a1, a2, a3) })
}

func (s *Store) PutRecoveryCodes(ctx context.Context, a1 string, a2 string, a3 []string) error {
	return s.plan.call("PutRecoveryCodes", func() error { return s.next.PutRecoveryCodes(ctx, a1, a2, a3) })
}

func (s *Store) RecordDeviceLogin(ctx context.Context, a1 string, a2 string, a3 string, a4 time.Time) error {
	return s.plan.call("RecordDeviceLogin", func() error { return s.next.RecordDeviceLogin(ctx, a1, a2, a3, a4) })
}

func (s *Store) RecordLogin(ctx context.Context, a1 string, a2 string, a3 time.Time) error {
	return s.plan.call("RecordLogin", func() error { return s.next.RecordLogin(ctx, a1, a2, a3) })
}

func (s *Store) RecoveryCodes(ctx context.Context, a1 string, a2 string) ([]string, error) {
	var r0 []string
	err := s.plan.call("RecoveryCodes", func() (err error) { r0, err = s.next.RecoveryCodes(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) ReleaseAttempt(ctx context.Context, a1 string, a2 string) error {
	return s.plan.call("ReleaseAttempt", func() error { return s.next.ReleaseAttempt(ctx, a1, a2) })
}

func (s *Store) ReserveAttempt(ctx context.Context, a1 string, a2 string, a3 int, a4 time.Time) (account.Account, bool, error) {
	var (
		r0 account.Account
		r1 bool
	)
	err := s.plan.call("ReserveAttempt", func() (err error) { r0, r1, err = s.next.ReserveAttempt(ctx, a1, a2, a3, a4); return err })
	return r0, r1, err
}

func (s *Store) ReserveDeviceAttempt(ctx context.Context, a1 string, a2 string, a3 string, a4 account.DeviceLimits) (account.Account, bool, error) {
	var (
		r0 account.Account
		r1 bool
	)
	err := s.plan.call("ReserveDeviceAttempt", func() (err error) { r0, r1, err = s.next.ReserveDeviceAttempt(ctx, a1, a2, a3, a4); return err })
	return r0, r1, err
}

func (s *Store) Secret(ctx context.Context, a1 string, a2 []uint8) ([]uint8, error) {
	var r0 []uint8
	err := s.plan.call("Secret", func() (err error) { r0, err = s.next.Secret(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) TouchCredential(ctx context.Context, a1 string, a2 string, a3 string, a4 time.Time) error {
	return s.plan.call("TouchCredential", func() error { return s.next.TouchCredential(ctx, a1, a2, a3, a4) })
}

func (s *Store) TouchSession(ctx context.Context, a1 string, a2 string, a3 time.Time) error {
	return s.plan.call("TouchSession", func() error { return s.next.TouchSession(ctx, a1, a2, a3) })
}

func (s *Store) Unlock(ctx context.Context, a1 string, a2 string) error {
	return s.plan.call("Unlock", func() error { return s.next.Unlock(ctx, a1, a2) })
}

func (s *Store) UpdateAccount(ctx context.Context, a1 account.Account) (account.Account, error) {
	var r0 account.Account
	err := s.plan.call("UpdateAccount", func() (err error) { r0, err = s.next.UpdateAccount(ctx, a1); return err })
	return r0, err
}

func (s *Store) UpdateTenant(ctx context.Context, a1 account.Tenant) error {
	return s.plan.call("UpdateTenant", func() error { return s.next.UpdateTenant(ctx, a1) })
}

func (s *Store) UseRecoveryCode(ctx context.Context, a1 string, a2 string, a3 string) (int, error) {
	var r0 int
	err := s.plan.call("UseRecoveryCode", func() (err error) { r0, err = s.next.UseRecoveryCode(ctx, a1, a2, a3); return err })
	return r0, err
}

func (s *Store) DomainHolder(ctx context.Context, a1 string) (string, error) {
	var r0 string
	err := s.plan.call("DomainHolder", func() (err error) { r0, err = s.next.DomainHolder(ctx, a1); return err })
	return r0, err
}

func (s *Store) ClaimDomain(ctx context.Context, a1 account.Tenant, a2 string) error {
	return s.plan.call("ClaimDomain", func() error { return s.next.ClaimDomain(ctx, a1, a2) })
}

func (s *Store) ReleaseDomains(ctx context.Context, a1 account.Tenant, a2 []string) error {
	return s.plan.call("ReleaseDomains", func() error { return s.next.ReleaseDomains(ctx, a1, a2) })
}

func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var r0 int
	err := s.plan.call("SchemaVersion", func() (err error) { r0, err = s.next.SchemaVersion(ctx); return err })
	return r0, err
}

func (s *Store) RaiseSchemaVersion(ctx context.Context, a1 int) error {
	return s.plan.call("RaiseSchemaVersion", func() error { return s.next.RaiseSchemaVersion(ctx, a1) })
}

func (s *Store) ListCredentialsEventually(ctx context.Context, a1 string, a2 string) ([]account.Credential, error) {
	var r0 []account.Credential
	err := s.plan.call("ListCredentialsEventually", func() (err error) { r0, err = s.next.ListCredentialsEventually(ctx, a1, a2); return err })
	return r0, err
}
