// Command ferretdb runs FerretDB v1, on PostgreSQL or on SQLite: the MongoDB wire protocol server that
// StoryBang's tests use in place of MongoDB (see the "Test infrastructure" section of docs/architecture.md).
// The tests run it on PostgreSQL, which serves many clients at once; SQLite takes one writer at a time.
//
// It exists because a plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb` panics: FerretDB's
// own main package reads build/version/version.txt, which is generated at release time and absent from
// the module proxy. That check only runs when FerretDB itself is the main module, so this module embeds
// FerretDB through its public package instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27018", "TCP address to listen on (host:port)")
	postgresqlURL := flag.String("postgresql-url", "", "PostgreSQL database to keep the data in (postgres://user:password@host:port/database)")
	sqliteDir := flag.String("sqlite-dir", "", "directory holding one SQLite file per database (created if missing)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn or error")
	flag.Parse()

	if err := run(*listenAddr, *postgresqlURL, *sqliteDir, *logLevel); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}
}

func run(listenAddr, postgresqlURL, sqliteDir, logLevel string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}

	config := ferretdb.Config{Listener: ferretdb.ListenerConfig{TCP: listenAddr}}

	switch {
	case (postgresqlURL == "") == (sqliteDir == ""):
		return fmt.Errorf("exactly one of --postgresql-url and --sqlite-dir is required")
	case postgresqlURL != "":
		config.Handler = "postgresql"
		config.PostgreSQLURL = postgresqlURL
	default:
		sqliteURL, err := sqliteURL(sqliteDir)
		if err != nil {
			return err
		}

		config.Handler = "sqlite"
		config.SQLiteURL = sqliteURL
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	config.Logger = logger

	f, err := ferretdb.New(&config)
	if err != nil {
		return err
	}

	// SIGTERM is what scripts/servers.sh sends on stop; Run returns once the listener and the backend's
	// connections are closed, so the data files are consistent when the process exits.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The URL is logged without its password.
	logger.Info("starting FerretDB v1", "addr", listenAddr, "backend", config.Handler,
		"postgresql", redacted(config.PostgreSQLURL), "sqlite", config.SQLiteURL)

	return f.Run(ctx)
}

// sqliteURL turns a directory into the URI FerretDB's SQLite backend expects: the "file:" scheme, an
// existing directory, and a path ending with "/".
func sqliteURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("--sqlite-dir: %w", err)
	}

	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("--sqlite-dir: %w", err)
	}

	u := url.URL{Scheme: "file", Path: abs + "/", OmitHost: true}

	return u.String(), nil
}

// redacted is a PostgreSQL URL with its password masked, for the log.
func redacted(rawURL string) string {
	if rawURL == "" {
		return ""
	}

	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable)"
	}

	return u.Redacted()
}
