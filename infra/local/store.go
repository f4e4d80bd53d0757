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
	"github.com/kagiya/kagiya/shared/store/boltstore"
	"github.com/kagiya/kagiya/shared/store/dynamostore"
)

// backend is what the local server keeps its state in.
type backend interface {
	account.Store
	bulk.JobStore
}

// openStore opens the store -store names: the embedded store in the data directory, or
// (minidyn) the DynamoDB store over an in-memory DynamoDB in this process, for load runs
// against the DynamoDB code; nothing of it outlives the server. hasTenants says whether
// the store holds an organization; stop releases it.
func openStore(ctx context.Context, o options) (st backend, hasTenants func() (bool, error), stop func(), err error) {
	if o.store == "minidyn" {
		st, stop, err := openMinidyn(ctx)
		// Empty at start: only -owner can have made one before the server announces.
		return st, func() (bool, error) { return o.owner != "", nil }, stop, err
	}
	b, err := boltstore.Open(filepath.Join(o.data, "kagiya.db"))
	if errors.Is(err, boltstore.ErrInUse) {
		return nil, nil, nil, fmt.Errorf("the data directory %s is in use by another Kagiya server: stop it, or give this one another -data", o.data)
	} else if err != nil {
		return nil, nil, nil, err
	}
	return b, b.HasTenants, func() { b.Close() }, nil
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
