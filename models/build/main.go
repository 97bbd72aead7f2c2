// Command build writes Sieve's built-in models (make models):
//
//	go run ./models/build -data ../shared/datasets -out models/builtin
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sieve-stream/sieve/models"
)

func main() {
	data := flag.String("data", "../shared/datasets", "the labelled datasets folder")
	out := flag.String("out", "models/builtin", "where the model files go")
	flag.Parse()
	for _, r := range models.Recipes {
		m, err := r.Build(*data, func(e, n int, loss float64) {
			fmt.Fprintf(os.Stderr, "\r%-10s epoch %2d/%d loss %.4f", r.Name, e, n, loss)
		})
		fmt.Fprintln(os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		path := filepath.Join(*out, r.Name+".sieve")
		if err := m.Save(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		d := m.Describe()
		fmt.Printf("%s  %s  thresholds %v\n", path, d.ID(), d.Thresholds)
	}
}
