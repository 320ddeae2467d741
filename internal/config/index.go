package config

import (
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// newIndex records where each key of a TOML document is, using go-toml's
// low-level parser (the decoder into structs keeps no positions). It
// understands [[account]] array tables as well as an inline
// account = [{...}, ...] array. Parse errors simply end the scan: positions
// are a convenience for messages, never required.
func newIndex(data []byte) index {
	x := index{pos: make(map[string][2]int)}
	var p unstable.Parser
	p.Reset(data)
	at := func(n *unstable.Node) [2]int {
		s := p.Shape(n.Raw)
		return [2]int{s.Start.Line, s.Start.Column}
	}
	record := func(key string, pos [2]int) {
		if _, ok := x.pos[key]; !ok {
			x.pos[key] = pos
		}
	}
	addAccount := func(pos [2]int) string {
		name := fmt.Sprintf("account[%d]", len(x.accounts))
		x.accounts = append(x.accounts, pos[0])
		record(name, pos)
		return name
	}

	table := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			name, first := keyOf(e)
			if first == nil {
				continue
			}
			if e.Kind == unstable.ArrayTable && name == "account" {
				table = addAccount(at(first))
			} else {
				table = name
				record(table, at(first))
			}
		case unstable.KeyValue:
			name, first := keyOf(e)
			if first == nil {
				continue
			}
			full := join(table, name)
			record(full, at(first))
			v := e.Value()
			if table != "" || name != "account" || v.Kind != unstable.Array {
				continue
			}
			// account = [{ jid = "...", ... }, ...]
			elems := v.Children()
			for elems.Next() {
				it := elems.Node()
				if it.Kind != unstable.InlineTable {
					continue
				}
				acct := addAccount(at(it))
				kvs := it.Children()
				for kvs.Next() {
					kv := kvs.Node()
					if kv.Kind != unstable.KeyValue {
						continue
					}
					if k, f := keyOf(kv); f != nil {
						record(join(acct, k), at(f))
					}
				}
			}
		}
	}
	return x
}

// keyOf returns the dotted key of a table header or key/value and its first
// key node.
func keyOf(n *unstable.Node) (string, *unstable.Node) {
	var parts []string
	var first *unstable.Node
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if first == nil {
			first = k
		}
		parts = append(parts, string(k.Data))
	}
	return strings.Join(parts, "."), first
}

func join(table, key string) string {
	if table == "" {
		return key
	}
	return table + "." + key
}
