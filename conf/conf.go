// Package conf assembles rocketgo's one typed configuration from each component's
// Options and loads it with viper: a YAML (or TOML/JSON) file or Apache RocketMQ's
// broker.conf in Java properties syntax (properties.go), then environment overrides,
// then validation. A bare number for a duration is in RocketMQ's unit for the key
// (units.go): `fileReservedTime: 48` is 48 hours. docs/configuration.md is the user's
// guide.
//
// Keys are the section name and the option's mapstructure tag joined by a dot, e.g.
// `broker.brokerName` or `store.flushDiskType`; RocketMQ's own key names are kept where
// they exist. The environment overrides any key as ROCKETGO_<SECTION>_<KEY> in upper case,
// e.g. ROCKETGO_BROKER_BROKERNAME=broker-b or ROCKETGO_STORE_FLUSHDISKTYPE=SYNC_FLUSH.
//
// Every default is registered with viper as a key before unmarshalling, because viper
// only consults the environment for keys it already knows (spf13/viper#761): without
// this an override of an option missing from the file would be silently dropped.
// Unmarshalling is exact, so a misspelled key is an error that names it.
package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/namesrv"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
	"github.com/rocketgo/rocketgo/store"
)

// EnvPrefix prefixes every environment override.
const EnvPrefix = "ROCKETGO"

// Config is the whole configuration of a rocketgo process. A NameServer reads only the
// Namesrv section; a broker reads Broker and Store; the standalone mode reads all three.
type Config struct {
	Namesrv namesrv.Options `mapstructure:"namesrv"`
	Broker  broker.Options  `mapstructure:"broker"`
	Store   store.Options   `mapstructure:"store"`
	// TLS is the process's `tls` section, shared by every listener and outgoing link
	// (docs/tls.md); LoadFile copies it into Namesrv.TLS and Broker.TLS.
	TLS tlsconf.Options `mapstructure:"tls"`
}

// Default returns the configuration with every component's defaults. The programs also
// open the gRPC endpoint on the Proxy's port (8081), which an embedded broker
// (broker.DefaultOptions) leaves off so that it binds no fixed port.
func Default() Config {
	c := Config{
		Namesrv: namesrv.DefaultOptions(),
		Broker:  broker.DefaultOptions(),
		Store:   store.DefaultOptions(),
		TLS:     tlsconf.DefaultOptions(),
	}
	c.Broker.GRPCListenAddr = DefaultGRPCListenAddr
	return c
}

// DefaultGRPCListenAddr is the programs' gRPC endpoint address (grpcListenAddr).
const DefaultGRPCListenAddr = "0.0.0.0:8081"

// Validate checks every section and names the first invalid option.
func (c Config) Validate() error {
	if err := c.Namesrv.Validate(); err != nil {
		return fmt.Errorf("conf: %w", err)
	}
	if err := c.Broker.Validate(); err != nil {
		return fmt.Errorf("conf: %w", err)
	}
	if err := c.Store.Validate(); err != nil {
		return fmt.Errorf("conf: %w", err)
	}
	if err := c.TLS.Validate(); err != nil {
		return fmt.Errorf("conf: %w", err)
	}
	return nil
}

// Load reads the file at path for a broker (an empty path means defaults only), applies
// environment overrides and validates the result. Programs use LoadFile, which also
// returns the warnings.
func Load(path string) (Config, error) {
	cfg, _, err := LoadFile(path, Broker)
	return cfg, err
}

// LoadFile reads the file at path (an empty path means defaults only) for prog, applies
// environment overrides and validates the result. The file is rocketgo's sectioned YAML
// (or TOML/JSON), or Apache RocketMQ's Java properties (by extension .conf/.properties,
// or by content), whose flat keys go to prog's sections. A bare number for a duration is
// in RocketMQ's unit for the key (durationUnits). An unknown key or an invalid value is
// an error naming the key; the warnings name what was read but cannot be honoured as
// written (Apache keys rocketgo does not implement, a second deleteWhen hour).
func LoadFile(path string, prog Program) (Config, []string, error) {
	v := viper.New()
	def := Default()
	keys := flatten(reflect.ValueOf(def), "")
	for key, val := range keys {
		v.SetDefault(key, val)
	}
	if err := checkEnv(keys, os.Environ()); err != nil {
		return Config{}, nil, err
	}
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	warnings, err := readFile(v, path, prog)
	if err != nil {
		return Config{}, nil, err
	}
	if err := unknownKeys(v, keys, path); err != nil {
		return Config{}, nil, err
	}
	more, err := applyUnits(v)
	if err != nil {
		return Config{}, nil, fmt.Errorf("conf: %s: %w", blame(keys, path, err), err)
	}
	warnings = append(warnings, more...)
	cfg := def
	hooks := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		splitList,
	))
	if err := v.UnmarshalExact(&cfg, hooks); err != nil {
		return Config{}, nil, fmt.Errorf("conf: %s: %s", blame(keys, path, err), oneLine(err))
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, nil, err
	}
	cfg.Namesrv.TLS, cfg.Broker.TLS = cfg.TLS, cfg.TLS
	return cfg, warnings, nil
}

// readFile loads the file at path into v: a properties file through readProperties, any
// other through viper.
func readFile(v *viper.Viper, path string, prog Program) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("conf: read %s: %w", path, err)
	}
	if isProperties(path, raw) {
		vals, warnings, err := readProperties(path, raw, prog)
		if err != nil {
			return nil, err
		}
		nested := map[string]any{}
		for k, val := range vals {
			sec, name, _ := strings.Cut(k, ".")
			m, _ := nested[sec].(map[string]any)
			if m == nil {
				m = map[string]any{}
				nested[sec] = m
			}
			m[name] = val
		}
		return warnings, v.MergeConfigMap(nested)
	}
	v.SetConfigFile(path)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json", ".toml":
	default:
		v.SetConfigType("yaml")
	}
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("conf: read %s: %s", path, oneLine(err))
	}
	return nil, nil
}

// keySet makes a set of the words of s.
func keySet(s string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Fields(s) {
		set[w] = true
	}
	return set
}

// checkEnv refuses an override that names no option: viper would ignore it silently,
// and a misspelled ROCKETGO_STORE_FLUSHDISKTPYE would leave the broker on the default.
// Only variables under a section prefix (ROCKETGO_BROKER_, ROCKETGO_STORE_,
// ROCKETGO_NAMESRV_) are options; other ROCKETGO_ variables are left alone.
func checkEnv(keys map[string]any, environ []string) error {
	known := make(map[string]bool, len(keys))
	sections := map[string]bool{}
	for k := range keys {
		known[strings.ToUpper(strings.ReplaceAll(k, ".", "_"))] = true
		sec, _, _ := strings.Cut(k, ".")
		sections[strings.ToUpper(sec)] = true
	}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, EnvPrefix+"_")
		if !ok {
			continue
		}
		sec, _, _ := strings.Cut(rest, "_")
		if sections[sec] && !known[rest] {
			return fmt.Errorf("conf: environment variable %s names no option of section %s", name, strings.ToLower(sec))
		}
	}
	return nil
}

// splitList decodes a string into a list with SplitAddrs.
func splitList(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice || to.Elem().Kind() != reflect.String {
		return data, nil
	}
	return SplitAddrs(data.(string)), nil
}

// SplitAddrs turns "a;b" or "a,b" into a list, as RocketMQ's namesrvAddr (and mqbroker -n)
// is written.
func SplitAddrs(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return []string{}
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' })
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// unknownKeys names, in the file's own spelling, the first key of the file that is no
// option (viper lower-cases keys, and mapstructure's report spans several lines).
func unknownKeys(v *viper.Viper, keys map[string]any, path string) error {
	known := make(map[string]bool, len(keys))
	for k := range keys {
		known[strings.ToLower(k)] = true
	}
	var unknown []string
	for _, k := range v.AllKeys() {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	name := unknown[0]
	if raw, err := os.ReadFile(path); err == nil {
		leaf := name[strings.LastIndex(name, ".")+1:]
		if m := regexp.MustCompile(`(?i)\b(` + regexp.QuoteMeta(leaf) + `)\s*:`).FindSubmatch(raw); m != nil {
			name = name[:len(name)-len(leaf)] + string(m[1])
		}
	}
	return fmt.Errorf("conf: %s: unknown key %s (%d unknown in all); conf/broker.yaml lists every key", describe(path), name, len(unknown))
}

// blame says where a bad value came from: the environment variable that set it, when
// one is set for a key the error names, else the file (or the defaults).
func blame(keys map[string]any, path string, err error) string {
	msg := strings.ToLower(err.Error())
	for k := range keys {
		env := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_"))
		if val, ok := os.LookupEnv(env); ok && strings.Contains(msg, strings.ToLower(k)) {
			return fmt.Sprintf("environment %s=%q", env, val)
		}
	}
	return describe(path)
}

// oneLine folds mapstructure's multi-line report into one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func describe(path string) string {
	if path == "" {
		return "defaults"
	}
	return path
}

// leaf is one option: its dotted key, its value and its field's type.
type leaf struct {
	key string
	val any
	typ reflect.Type
}

// leaves lists the options of a config struct as dotted mapstructure keys, in field
// order. Fields tagged "-" (loggers, clocks) are not configuration and are skipped.
func leaves(v reflect.Value, prefix string) []leaf {
	var out []leaf
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Tag.Get("mapstructure")
		if name == "-" {
			continue
		}
		name, _, _ = strings.Cut(name, ",")
		if name == "" {
			name = f.Name
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type().PkgPath() != "time" {
			out = append(out, leaves(fv, key)...)
			continue
		}
		out = append(out, leaf{key: key, val: fv.Interface(), typ: f.Type})
	}
	return out
}

// flatten is leaves as a map from key to value.
func flatten(v reflect.Value, prefix string) map[string]any {
	out := map[string]any{}
	for _, l := range leaves(v, prefix) {
		out[l.key] = l.val
	}
	return out
}
