// Command filevault mimics aws-vault's keyring "file" backend (99designs/keyring file.go) with the real jose2go
// library, so tests can check that our FileKeyring and the Go aws-vault read each other's stores.
//
// Build/run without modules (Debian installs jose2go under /usr/share/gocode):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run filevault.go <command> ...
//
// Commands (passphrase from AWS_VAULT_FILE_PASSPHRASE):
//
//	write <dir> <key> <data> [label] [description] [notTrust(true|false)]
//	                    store an item; data prefixed "base64:" is decoded first (for bytes such as NUL)
//	read <dir> <key>    print json.Marshal(Item) of the decrypted item, then the JWE header JSON, one per line
//	keys <dir>          print every key (percent-decoded directory entry), one per line
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
	"strings"
	"time"

	jose "github.com/dvsekhvalnov/jose2go"
)

// Item is keyring.Item: Go field names, no JSON tags.
type Item struct {
	Key                         string
	Data                        []byte
	Label                       string
	Description                 string
	KeychainNotTrustApplication bool
	KeychainNotSynchronizable   bool
}

const upperhex = "0123456789ABCDEF"

// encode is github.com/mtibben/percent.Encode.
func encode(s string, charsToEscape string) string {
	var t strings.Builder
	for _, c := range s {
		if strings.IndexRune(charsToEscape, c) != -1 || c == '%' {
			for _, b := range []byte(string(c)) {
				t.WriteByte('%')
				t.WriteByte(upperhex[b>>4])
				t.WriteByte(upperhex[b&15])
			}
		} else {
			t.WriteRune(c)
		}
	}
	return t.String()
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

func ishex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// decode is github.com/mtibben/percent.Decode.
func decode(s string) string {
	var t []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			t = append(t, (unhex(s[i+1])<<4 | unhex(s[i+2])))
			i += 2
		} else {
			t = append(t, s[i])
		}
	}
	return string(t)
}

func passphrase() string {
	p, ok := os.LookupEnv("AWS_VAULT_FILE_PASSPHRASE")
	if !ok {
		fail("AWS_VAULT_FILE_PASSPHRASE is not set")
	}
	return p
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "filevault: "+format+"\n", args...)
	os.Exit(1)
}

func write(dir string, args []string) {
	if len(args) < 2 {
		fail("usage: write <dir> <key> <data> [label] [description] [notTrust]")
	}
	item := Item{Key: args[0], Data: []byte(args[1])}
	if strings.HasPrefix(args[1], "base64:") {
		data, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(args[1], "base64:"))
		if err != nil {
			fail("%v", err)
		}
		item.Data = data
	}
	if len(args) > 2 {
		item.Label = args[2]
	}
	if len(args) > 3 {
		item.Description = args[3]
	}
	if len(args) > 4 {
		item.KeychainNotTrustApplication = args[4] == "true"
	}
	bytes, err := json.Marshal(item)
	if err != nil {
		fail("%v", err)
	}
	if err := os.MkdirAll(dir, 0700); err != nil {
		fail("%v", err)
	}
	token, err := jose.Encrypt(string(bytes), jose.PBES2_HS256_A128KW, jose.A256GCM, passphrase(),
		jose.Headers(map[string]interface{}{"created": time.Now().String()}))
	if err != nil {
		fail("%v", err)
	}
	if err := ioutil.WriteFile(filepath.Join(dir, encode(item.Key, "/")), []byte(token), 0600); err != nil {
		fail("%v", err)
	}
}

func read(dir string, args []string) {
	if len(args) != 1 {
		fail("usage: read <dir> <key>")
	}
	bytes, err := ioutil.ReadFile(filepath.Join(dir, encode(args[0], "/")))
	if err != nil {
		fail("%v", err)
	}
	payload, headers, err := jose.Decode(string(bytes), passphrase())
	if err != nil {
		fail("decode: %v", err)
	}
	var item Item
	if err := json.Unmarshal([]byte(payload), &item); err != nil {
		fail("unmarshal: %v", err)
	}
	out, _ := json.Marshal(item)
	hdr, _ := json.Marshal(headers)
	fmt.Printf("%s\n%s\n", out, hdr)
}

func keys(dir string) {
	files, _ := ioutil.ReadDir(dir)
	for _, f := range files {
		fmt.Println(decode(f.Name()))
	}
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: filevault write|read|keys <dir> ...")
	}
	dir := os.Args[2]
	switch os.Args[1] {
	case "write":
		write(dir, os.Args[3:])
	case "read":
		read(dir, os.Args[3:])
	case "keys":
		keys(dir)
	default:
		fail("unknown command %q", os.Args[1])
	}
}
