// Command go_ecs_server is aws-vault's ECS credential server (server/ecsserver.go,
// server/httplog.go and iso8601/iso8601.go of github.com/99designs/aws-vault at
// e22aea12b03e8ce036e9af87dda9303806fa2a9e, MIT licence, Copyright (c) 2015 99designs),
// reduced to what a throughput benchmark needs: fixed credentials instead of the vault
// package's STS providers, and no /role-arn/ route. See README.md.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// iso8601.go: Format outputs an ISO-8601 datetime string from the given time,
// in a format compatible with all of the AWS SDKs. Held in a value named iso8601
// so the call site in writeCredsToResponse stays verbatim.
type iso8601Package struct{}

func (iso8601Package) Format(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

var iso8601 iso8601Package

// httplog.go, verbatim.

type loggingMiddlewareResponseWriter struct {
	http.ResponseWriter
	Code int
}

func (w *loggingMiddlewareResponseWriter) WriteHeader(statusCode int) {
	w.Code = statusCode
	w.ResponseWriter.WriteHeader(statusCode)
}

func withLogging(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestStart := time.Now()
		w2 := &loggingMiddlewareResponseWriter{w, http.StatusOK}
		handler.ServeHTTP(w2, r)
		log.Printf("http: %s: %d %s %s (%s)", r.RemoteAddr, w2.Code, r.Method, r.URL, time.Since(requestStart))
	})
}

// ecsserver.go, verbatim except that the vault config, the role cache and the
// /role-arn/ route (AssumeRoleArnRoute, getRoleProvider) are left out.

func writeErrorMessage(w http.ResponseWriter, msg string, statusCode int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(statusCode)
	if err := json.NewEncoder(w).Encode(map[string]string{"Message": msg}); err != nil {
		log.Println(err.Error())
	}
}

func withAuthorizationCheck(authToken string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != authToken {
			writeErrorMessage(w, "invalid Authorization token", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	}
}

func writeCredsToResponse(creds aws.Credentials, w http.ResponseWriter) {
	err := json.NewEncoder(w).Encode(map[string]string{
		"AccessKeyId":     creds.AccessKeyID,
		"SecretAccessKey": creds.SecretAccessKey,
		"Token":           creds.SessionToken,
		"Expiration":      iso8601.Format(creds.Expires),
	})
	if err != nil {
		writeErrorMessage(w, err.Error(), http.StatusInternalServerError)
		return
	}
}

func generateRandomString() string {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

type EcsServer struct {
	listener          net.Listener
	authToken         string
	server            http.Server
	baseCredsProvider aws.CredentialsProvider
}

func NewEcsServer(ctx context.Context, baseCredsProvider aws.CredentialsProvider, authToken string, port int, lazyLoadBaseCreds bool) (*EcsServer, error) {
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	if authToken == "" {
		authToken = generateRandomString()
	}

	credsCache := aws.NewCredentialsCache(baseCredsProvider)
	if !lazyLoadBaseCreds {
		_, err := credsCache.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("Retrieving creds: %w", err)
		}
	}

	e := &EcsServer{
		listener:          listener,
		authToken:         authToken,
		baseCredsProvider: credsCache,
	}

	router := http.NewServeMux()
	router.HandleFunc("/", e.DefaultRoute)
	e.server.Handler = withLogging(withAuthorizationCheck(e.authToken, router.ServeHTTP))

	return e, nil
}

func (e *EcsServer) BaseURL() string {
	return fmt.Sprintf("http://%s", e.listener.Addr().String())
}
func (e *EcsServer) AuthToken() string {
	return e.authToken
}

func (e *EcsServer) Serve() error {
	return e.server.Serve(e.listener)
}

func (e *EcsServer) DefaultRoute(w http.ResponseWriter, r *http.Request) {
	creds, err := e.baseCredsProvider.Retrieve(r.Context())
	if err != nil {
		writeErrorMessage(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeCredsToResponse(creds, w)
}

// Benchmark harness: fixed credentials valid for 12 hours, standing in for STS.

func main() {
	// aws-vault's PreAction discards the log unless --debug is given.
	log.SetOutput(io.Discard)

	expires := time.Now().Add(12 * time.Hour)
	token := "IQoJb3JpZ2luX2VjE" + strings.Repeat("x", 900-len("IQoJb3JpZ2luX2VjE"))
	provider := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{
			AccessKeyID:     "ASIAEXAMPLEEXAMPLE00",
			SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			SessionToken:    token,
			Source:          "StaticBenchProvider",
			CanExpire:       true,
			Expires:         expires,
		}, nil
	})

	// As aws-vault exec calls it: random token, port 0, credentials fetched up front.
	ecsServer, err := NewEcsServer(context.TODO(), provider, "", 0, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s/ Authorization: %s\n", ecsServer.BaseURL(), ecsServer.AuthToken())
	if err := ecsServer.Serve(); err != http.ErrServerClosed {
		fmt.Fprintf(os.Stderr, "ecs server: %s\n", err)
		os.Exit(1)
	}
}
