// Command cmd writes the generated reference files (package docgen).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sieve-stream/sieve/internal/docgen"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	flag.Parse()
	files, err := docgen.Files(*root)
	if err == nil {
		err = docgen.Write(*root, files)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
}
