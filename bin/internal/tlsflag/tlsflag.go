// Package tlsflag gives the client programs (mqbench, mqdashboard) the same TLS flags:
//
//	-tls                  connect with TLS
//	-tls-ca FILE          PEM authorities the servers' certificates are verified against
//	-tls-cert FILE        client certificate (needClientAuth optional or require)
//	-tls-key FILE         its key
//	-tls-server-name NAME name checked in the servers' certificates
//	-tls-insecure         accept any server certificate (trials only)
package tlsflag

import (
	"crypto/tls"
	"flag"

	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// Register adds the flags to fs and returns what builds the configuration once fs is
// parsed: nil without -tls.
func Register(fs *flag.FlagSet) func() (*tls.Config, error) {
	var f tlsconf.ClientFiles
	on := fs.Bool("tls", false, "connect with TLS (servers with tls.mode permissive or enforcing)")
	fs.StringVar(&f.TrustCertPath, "tls-ca", "", "with -tls: PEM authorities the servers' certificates are verified against (system roots when empty)")
	fs.StringVar(&f.CertPath, "tls-cert", "", "with -tls: client certificate, for needClientAuth optional or require")
	fs.StringVar(&f.KeyPath, "tls-key", "", "with -tls: the client certificate's key")
	fs.StringVar(&f.ServerName, "tls-server-name", "", "with -tls: name checked in the servers' certificates (the dialled host when empty)")
	fs.BoolVar(&f.InsecureSkipVerify, "tls-insecure", false, "with -tls: accept any server certificate (trials only)")
	return func() (*tls.Config, error) {
		if !*on {
			return nil, nil
		}
		return f.Config()
	}
}
