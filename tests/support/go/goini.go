// Command goini prints how go-ini, with the options the Go aws-vault (v7) loads ~/.aws/config with, reads an INI
// file: a JSON object of sections (in file order, as [name, {key: value}] pairs), or {"error": "..."}.
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run goini.go <file>
//
// Debian's golang-gopkg-ini.v1-dev provides go-ini (1.66.x; aws-vault pins 1.67.0).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	ini "gopkg.in/ini.v1"
)

func main() {
	f, err := ini.LoadSources(ini.LoadOptions{
		AllowNestedValues:   true,
		InsensitiveSections: false,
		InsensitiveKeys:     true,
	}, os.Args[1])
	if err != nil {
		out, _ := json.Marshal(map[string]string{"error": err.Error()})
		fmt.Println(string(out))
		return
	}
	sections := [][]interface{}{}
	for _, s := range f.Sections() {
		keys := map[string]string{}
		for _, k := range s.Keys() {
			keys[k.Name()] = k.Value()
		}
		sections = append(sections, []interface{}{s.Name(), keys})
	}
	out, _ := json.Marshal(map[string]interface{}{"sections": sections})
	fmt.Println(string(out))
}
