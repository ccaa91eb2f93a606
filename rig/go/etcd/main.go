// etcd's own main (go.etcd.io/etcd/v3 main.go at v3.6.8) is this one call; its module carries replace
// directives, so it cannot be built from the proxy directly.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
