package admincli

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"

	"github.com/magiconair/properties"

	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// TLS settings come before the sub command as Java system properties, the names
// Apache's tools read from JAVA_OPT (TlsSystemConfig), so that the same words work:
//
//	mqadmin -Dtls.enable=true -Dtls.client.trustCertPath=/etc/rocketmq/ca.pem topicList -n 10.0.0.1:9876
//
// tls.config.file names a properties file holding the same keys; a -D given too wins.
// Unlike Apache, the server's certificate is verified unless tls.client.authServer is
// false (docs/mqadmin.md, docs/tls.md).
var tlsProperties = map[string]bool{
	"tls.enable": true, "tls.config.file": true, "tls.client.certPath": true, "tls.client.keyPath": true,
	"tls.client.trustCertPath": true, "tls.client.authServer": true, "tls.client.serverName": true,
}

// takeSystemProperties removes the leading -Dkey=value arguments and returns them.
func takeSystemProperties(args []string) (map[string]string, []string, error) {
	props := map[string]string{}
	for len(args) > 0 && strings.HasPrefix(args[0], "-D") {
		k, v, ok := strings.Cut(args[0][2:], "=")
		if !ok || !tlsProperties[k] {
			return nil, nil, fmt.Errorf("%s: not one of the -D settings mqadmin knows (tls.enable, tls.config.file, tls.client.certPath, tls.client.keyPath, tls.client.trustCertPath, tls.client.authServer, tls.client.serverName)", args[0])
		}
		props[k] = v
		args = args[1:]
	}
	if path := props["tls.config.file"]; path != "" {
		p, err := properties.LoadFile(path, properties.UTF8)
		if err != nil {
			return nil, nil, fmt.Errorf("tls.config.file: %w", err)
		}
		for _, k := range p.Keys() {
			if _, given := props[k]; !given && tlsProperties[k] {
				props[k], _ = p.Get(k)
			}
		}
	}
	return props, args, nil
}

// tlsConfig builds the TLS the properties ask for; nil (plain) when tls.enable is not
// true.
func tlsConfig(props map[string]string) (*tls.Config, error) {
	if on, _ := strconv.ParseBool(props["tls.enable"]); !on {
		return nil, nil
	}
	verify := true
	if v, ok := props["tls.client.authServer"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("tls.client.authServer=%s: want true or false", v)
		}
		verify = b
	}
	return tlsconf.ClientFiles{
		CertPath: props["tls.client.certPath"], KeyPath: props["tls.client.keyPath"],
		TrustCertPath: props["tls.client.trustCertPath"], ServerName: props["tls.client.serverName"],
		InsecureSkipVerify: !verify,
	}.Config()
}
