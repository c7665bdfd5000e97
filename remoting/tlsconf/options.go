package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Mode is tls.server.mode: whether a listener accepts TLS, plain, or both.
type Mode string

// The modes, spelled as Apache RocketMQ's TlsMode.
const (
	Disabled   Mode = "disabled"
	Permissive Mode = "permissive"
	Enforcing  Mode = "enforcing"
)

// Client authentication as tls.server.need.client.auth spells it.
const (
	ClientAuthNone     = "none"
	ClientAuthOptional = "optional"
	ClientAuthRequire  = "require"
)

// Options is the `tls` configuration section. The server half applies to every remoting
// listener of the process (broker, NameServer) and to the broker's HA port; the client
// half to the process's own outgoing links (a broker's NameServer registration, a
// slave's metadata sync and replication).
type Options struct {
	// Mode is tls.server.mode: disabled (the default), permissive or enforcing.
	Mode Mode `mapstructure:"mode"`
	// CertPath is tls.server.certPath: the server's PEM certificate chain.
	CertPath string `mapstructure:"certPath"`
	// KeyPath is tls.server.keyPath: the server's PEM private key (unencrypted).
	KeyPath string `mapstructure:"keyPath"`
	// TrustCertPath is tls.server.trustCertPath: PEM certificates of the authorities
	// client certificates are verified against.
	TrustCertPath string `mapstructure:"trustCertPath"`
	// NeedClientAuth is tls.server.need.client.auth: none, optional (a certificate
	// given is verified) or require.
	NeedClientAuth string `mapstructure:"needClientAuth"`

	// Enable is tls.enable: this process's own outgoing connections use TLS.
	Enable bool `mapstructure:"enable"`
	// ClientCertPath is tls.client.certPath: the certificate this process presents
	// when a server asks for one.
	ClientCertPath string `mapstructure:"clientCertPath"`
	// ClientKeyPath is tls.client.keyPath: the key of ClientCertPath.
	ClientKeyPath string `mapstructure:"clientKeyPath"`
	// ClientTrustCertPath is tls.client.trustCertPath: PEM certificates of the
	// authorities server certificates are verified against; the system's roots when
	// empty.
	ClientTrustCertPath string `mapstructure:"clientTrustCertPath"`
	// ClientAuthServer is tls.client.authServer: verify the server's certificate. It
	// defaults to true, unlike Apache's false: turning verification off must be asked
	// for.
	ClientAuthServer bool `mapstructure:"clientAuthServer"`
	// ServerName is the name a server certificate is checked against; the host of the
	// dialled address when empty.
	ServerName string `mapstructure:"serverName"`
}

// DefaultOptions returns TLS turned off, with verification on once it is turned on.
func DefaultOptions() Options {
	return Options{Mode: Disabled, NeedClientAuth: ClientAuthNone, ClientAuthServer: true}
}

// Validate checks the spelling of mode and needClientAuth (empty means the default);
// whether the files can be
// read is checked when the configurations are built (ServerConfig, ClientConfig).
func (o Options) Validate() error {
	switch o.Mode {
	case "", Disabled, Permissive, Enforcing:
	default:
		return fmt.Errorf("tls.mode %q: must be disabled, permissive or enforcing", o.Mode)
	}
	switch o.NeedClientAuth {
	case "", ClientAuthNone, ClientAuthOptional, ClientAuthRequire:
	default:
		return fmt.Errorf("tls.needClientAuth %q: must be none, optional or require", o.NeedClientAuth)
	}
	return nil
}

// Server is what a listener needs: its mode and, unless disabled, its configuration.
type Server struct {
	Mode   Mode
	Config *tls.Config
}

// On reports whether the listener must look at the first byte of each connection.
func (s Server) On() bool { return s.Mode == Permissive || s.Mode == Enforcing }

// ServerConfig builds the listeners' TLS: the zero Server when the mode is disabled,
// else the loaded certificate and client verification. An error is one line naming the
// key and the file, for a refusal to start.
func (o Options) ServerConfig() (Server, error) {
	if err := o.Validate(); err != nil {
		return Server{}, fmt.Errorf("tls: %w", err)
	}
	if o.Mode == Disabled || o.Mode == "" {
		return Server{Mode: Disabled}, nil
	}
	if o.CertPath == "" || o.KeyPath == "" {
		return Server{}, fmt.Errorf("tls: tls.mode=%s needs tls.certPath and tls.keyPath (tls.server.certPath, tls.server.keyPath)", o.Mode)
	}
	cert, err := loadPair("tls.certPath", o.CertPath, "tls.keyPath", o.KeyPath)
	if err != nil {
		return Server{}, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	switch o.NeedClientAuth {
	case ClientAuthOptional:
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case ClientAuthRequire:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if o.NeedClientAuth != ClientAuthNone && o.NeedClientAuth != "" && o.TrustCertPath == "" {
		return Server{}, fmt.Errorf("tls: tls.needClientAuth=%s needs tls.trustCertPath (tls.server.trustCertPath) to verify client certificates", o.NeedClientAuth)
	}
	if o.TrustCertPath != "" {
		if cfg.ClientCAs, err = loadPool("tls.trustCertPath", o.TrustCertPath); err != nil {
			return Server{}, err
		}
	}
	return Server{Mode: o.Mode, Config: cfg}, nil
}

// ClientConfig builds the TLS of this process's outgoing links: nil when tls.enable is
// off.
func (o Options) ClientConfig() (*tls.Config, error) {
	if !o.Enable {
		return nil, nil
	}
	return ClientFiles{
		CertPath: o.ClientCertPath, KeyPath: o.ClientKeyPath, TrustCertPath: o.ClientTrustCertPath,
		ServerName: o.ServerName, InsecureSkipVerify: !o.ClientAuthServer,
	}.Config()
}

// ClientFiles names what a client's TLS is built from; the SDK, mqadmin, mqbench and the
// dashboard take these as options or flags.
type ClientFiles struct {
	// CertPath and KeyPath are the client certificate, presented when a server asks;
	// both or neither.
	CertPath, KeyPath string
	// TrustCertPath holds the authorities server certificates are verified against; the
	// system's roots when empty.
	TrustCertPath string
	// ServerName is checked against the server's certificate; the dialled host when
	// empty.
	ServerName string
	// InsecureSkipVerify accepts any server certificate: for tests and trials only.
	InsecureSkipVerify bool
}

// Config loads the files into a client configuration.
func (f ClientFiles) Config() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: f.ServerName, InsecureSkipVerify: f.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if (f.CertPath == "") != (f.KeyPath == "") {
		return nil, errors.New("tls: a client certificate needs both its certificate and its key path")
	}
	if f.CertPath != "" {
		cert, err := loadPair("client certificate", f.CertPath, "client key", f.KeyPath)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if f.TrustCertPath != "" {
		pool, err := loadPool("client trust certificates", f.TrustCertPath)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// loadPair reads a certificate and its key, naming the file that failed.
func loadPair(certKey, certPath, keyKey, keyPath string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: %s: %s", certKey, oneLine(err))
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: %s: %s", keyKey, oneLine(err))
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: %s %s with %s %s: %s", certKey, certPath, keyKey, keyPath, oneLine(err))
	}
	return cert, nil
}

// loadPool reads PEM certificates into a pool; a file with none is refused.
func loadPool(key, path string) (*x509.CertPool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls: %s: %s", key, oneLine(err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		return nil, fmt.Errorf("tls: %s %s: no PEM certificate in the file", key, path)
	}
	return pool, nil
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
