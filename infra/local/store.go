package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
	"github.com/kagiya/kagiya/shared/outbox"
	"github.com/kagiya/kagiya/shared/store/boltstore"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// backend is what the local server keeps its state in.
type backend interface {
	account.Store
	bulk.JobStore
	outbox.JobCounter
}

// openStore opens the store -store names: the embedded store in the data directory, or
// (minidyn) the DynamoDB store over an in-memory DynamoDB in this process, for load runs
// against the DynamoDB code; nothing of it outlives the server but its mail queue. The
// mail queue (the outbox's stand-in for SQS) is always an embedded store: the one in the
// data directory, or with minidyn one of its own there (mail.db). hasTenants says whether
// the store holds an organization; stop releases both.
func openStore(ctx context.Context, o options) (st backend, queue outbox.Store, hasTenants func() (bool, error), stop func(), err error) {
	open := func(name string) (*boltstore.Store, error) {
		b, err := boltstore.Open(filepath.Join(o.data, name))
		if errors.Is(err, boltstore.ErrInUse) {
			return nil, fmt.Errorf("the data directory %s is in use by another Kagiya server: stop it, or give this one another -data", o.data)
		}
		return b, err
	}
	if o.store == "minidyn" {
		q, err := open("mail.db")
		if err != nil {
			return nil, nil, nil, nil, err
		}
		st, stop, err := openMinidyn(ctx)
		if err != nil {
			q.Close()
			return nil, nil, nil, nil, err
		}
		// Empty at start: only -owner can have made one before the server announces.
		return st, q, func() (bool, error) { return o.owner != "", nil }, func() { stop(); q.Close() }, nil
	}
	b, err := open("kagiya.db")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return b, b, b.HasTenants, func() { b.Close() }, nil
}

func openMinidyn(ctx context.Context) (backend, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("minidyn: %w", err)
	}
	srv := &http.Server{Handler: server.NewServer(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + ln.Addr().String()),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	if err := dynamostore.CreateTable(ctx, db, "kagiya"); err != nil {
		srv.Close()
		return nil, nil, fmt.Errorf("minidyn table: %w", err)
	}
	return dynamostore.New(db, "kagiya", 0), func() { srv.Close() }, nil
}
