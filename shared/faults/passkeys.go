package faults

import (
	"context"

	"github.com/kagiya/kagiya/shared/account"
)

func (s *Store) ListPasskeys(ctx context.Context, a1 string) ([]account.Passkey, error) {
	var r0 []account.Passkey
	err := s.plan.call("ListPasskeys", func() (err error) { r0, err = s.next.ListPasskeys(ctx, a1); return err })
	return r0, err
}

func (s *Store) GetPasskeyEventually(ctx context.Context, a1 string, a2 string) (account.Passkey, error) {
	var r0 account.Passkey
	err := s.plan.call("GetPasskeyEventually", func() (err error) { r0, err = s.next.GetPasskeyEventually(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) AddPasskey(ctx context.Context, a1 account.Account, a2 account.Passkey) (account.Account, error) {
	var r0 account.Account
	err := s.plan.call("AddPasskey", func() (err error) { r0, err = s.next.AddPasskey(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) RemovePasskeys(ctx context.Context, a1 account.Account, a2 []string) (account.Account, error) {
	var r0 account.Account
	err := s.plan.call("RemovePasskeys", func() (err error) { r0, err = s.next.RemovePasskeys(ctx, a1, a2); return err })
	return r0, err
}

func (s *Store) RenamePasskey(ctx context.Context, a1 string, a2 string, a3 string) error {
	return s.plan.call("RenamePasskey", func() error { return s.next.RenamePasskey(ctx, a1, a2, a3) })
}

func (s *Store) UsePasskey(ctx context.Context, a1 string, a2 string, a3 account.PasskeyUse) error {
	return s.plan.call("UsePasskey", func() error { return s.next.UsePasskey(ctx, a1, a2, a3) })
}
