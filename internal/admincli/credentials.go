package admincli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rocketgo/rocketgo/client"
)

// Credentials of mqadmin's own requests (docs/acl.md). Apache's mqadmin signs with the
// accessKey and secretKey of $ROCKETMQ_HOME/conf/tools.yml (AclUtils.getAclRPCHook with
// MixAll.ACL_CONF_TOOLS_FILE) and has no flag for them; rocketgo reads that file too,
// and takes --accessKey and --secretKey before the command name, which win over it:
//
//	mqadmin --accessKey rocketmq2 --secretKey 12345678 updateTopic -n ... -c ... -t ...
//
// The flags come before the command because several commands (updateAclConfig) use -a
// and -s, and --accessKey, for the account they edit.

// toolsFile is Apache's tools.yml, relative to ROCKETMQ_HOME.
const toolsFile = "conf/tools.yml"

// globalFlags takes --accessKey and --secretKey (as "--k v" or "--k=v") off the front
// of args.
func globalFlags(args []string) (rest []string, ak, sk string, err error) {
	for len(args) > 0 && strings.HasPrefix(args[0], "--") {
		name, val, inline := strings.Cut(args[0][2:], "=")
		if name != "accessKey" && name != "secretKey" {
			break
		}
		args = args[1:]
		if !inline {
			if len(args) == 0 {
				return nil, "", "", fmt.Errorf("missing argument for --%s", name)
			}
			val, args = args[0], args[1:]
		}
		if name == "accessKey" {
			ak = strings.TrimSpace(val)
		} else {
			sk = strings.TrimSpace(val)
		}
	}
	if (ak == "") != (sk == "") {
		return nil, "", "", errors.New("--accessKey and --secretKey go together")
	}
	return args, ak, sk, nil
}

// toolsCredentials reads $ROCKETMQ_HOME/conf/tools.yml. No file, or a file without both
// keys, means unsigned requests, as in Apache.
func toolsCredentials() (client.Credentials, bool, error) {
	home := os.Getenv("ROCKETMQ_HOME")
	if home == "" {
		return client.Credentials{}, false, nil
	}
	path := filepath.Join(home, toolsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return client.Credentials{}, false, nil
	}
	if err != nil {
		return client.Credentials{}, false, err
	}
	var f struct {
		AccessKey string `yaml:"accessKey"`
		SecretKey string `yaml:"secretKey"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		return client.Credentials{}, false, fmt.Errorf("%s: %w", path, err)
	}
	f.AccessKey, f.SecretKey = strings.TrimSpace(f.AccessKey), strings.TrimSpace(f.SecretKey)
	if f.AccessKey == "" || f.SecretKey == "" {
		return client.Credentials{}, false, nil
	}
	return client.Credentials{AccessKey: f.AccessKey, SecretKey: f.SecretKey}, true, nil
}
