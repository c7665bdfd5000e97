// Package acl holds the request signature of RocketMQ ACL 1.0, shared by the client,
// which signs requests, and the broker, which checks them (docs/acl.md).
//
// The signature is Apache RocketMQ's (AclUtils.combineRequestContent and
// AclSigner.calSignature): base64(HMAC-SHA1(secretKey, v1 ++ v2 ++ ... ++ body)), where
// v1, v2, ... are the values of the request's extFields in key order, without
// Signature and _UNIQUE_KEY_QUERY, encoded as UTF-8.
package acl

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"slices"
)

// The extFields ACL adds to a request (SessionCredentials).
const (
	AccessKey     = "AccessKey"
	SecretKey     = "SecretKey"
	Signature     = "Signature"
	SecurityToken = "SecurityToken"
)

// uniqueKeyQuery is MixAll.UNIQUE_MSG_QUERY_FLAG: the Java client adds it to a query
// after signing, so neither side signs it.
const uniqueKeyQuery = "_UNIQUE_KEY_QUERY"

// Sign returns the signature of a request with extFields ext and body under secret.
func Sign(ext map[string]string, body []byte, secret string) string {
	var keys [32]string
	ks := keys[:0]
	for k := range ext {
		if k != Signature && k != uniqueKeyQuery {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	mac := hmac.New(sha1.New, []byte(secret))
	for _, k := range ks {
		mac.Write([]byte(ext[k]))
	}
	mac.Write(body)
	var sum [sha1.Size]byte
	return base64.StdEncoding.EncodeToString(mac.Sum(sum[:0]))
}

// Verify reports whether sig is the signature of ext and body under secret, comparing in
// constant time.
func Verify(ext map[string]string, body []byte, secret, sig string) bool {
	want := Sign(ext, body, secret)
	return subtle.ConstantTimeCompare([]byte(want), []byte(sig)) == 1
}

// Credentials are the access key pair a program signs its own requests with (a slave
// asking its master, a broker registering, mqadmin, the dashboard).
type Credentials struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
}

// Set reports whether there is a key pair to sign with.
func (c Credentials) Set() bool { return c.AccessKey != "" && c.SecretKey != "" }

// SignExt adds AccessKey and the Signature of ext and body to ext, allocating ext when
// nil, and returns it; without credentials ext is returned as it is (AclClientRPCHook).
func (c Credentials) SignExt(ext map[string]string, body []byte) map[string]string {
	if !c.Set() {
		return ext
	}
	if ext == nil {
		ext = make(map[string]string, 2)
	}
	delete(ext, Signature)
	ext[AccessKey] = c.AccessKey
	ext[Signature] = Sign(ext, body, c.SecretKey)
	return ext
}
