// Command bootstrap creates the first tenant and its owner in a deployed Kagiya's
// DynamoDB table, using the caller's AWS credentials:
//
//	go run ./infra/bootstrap -table TABLE -owner owner@example.com [-policy standard12]
//
// The password is read from standard input (one line), or from KAGIYA_OWNER_PASSWORD, so
// it stays out of shell history. It does nothing if the tenant exists already.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/mail"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bootstrap:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	table := fs.String("table", "", "DynamoDB table (the stack's TableName output)")
	owner := fs.String("owner", "", "owner's email; its domain becomes the tenant")
	policy := fs.String("policy", account.DefaultPolicyPreset, "password policy preset")
	endpoint := fs.String("endpoint", "", "DynamoDB endpoint (for local emulators; default AWS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *table == "" || *owner == "" {
		return errors.New("-table and -owner are required")
	}
	pw := getenv("KAGIYA_OWNER_PASSWORD")
	if pw == "" {
		fmt.Fprint(stdout, "owner password: ")
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if *endpoint != "" {
			o.BaseEndpoint = endpoint
		}
	})
	tmpl, err := mail.LoadTemplates()
	if err != nil {
		return err
	}
	svc, err := account.New(account.Deps{Store: dynamostore.New(db, *table, 0), Templates: tmpl,
		Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, account.Config{})
	if err != nil {
		return err
	}
	tenant, created, err := svc.SignIn.Bootstrap(ctx, *owner, pw, account.Settings{PolicyPreset: *policy})
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "\ncreated tenant %q (%s, domain %s) with owner %s\n", tenant.Name, tenant.ID, tenant.Domains[0], *owner)
	} else {
		fmt.Fprintln(stdout, "\nan account with that login ID exists already; nothing changed")
	}
	return nil
}
