// Command check validates the container build and the compose deployment
// without a Docker engine: the Dockerfile through BuildKit's own parser and
// lint rules (what `docker build --check` runs), the .dockerignore, and
// deploy/compose.yaml through the Compose specification's loader (schema
// validation and interpolation), each followed by this project's own rules.
//
// It is a module of its own so that the service's go.mod does not grow by
// BuildKit's and compose-go's dependencies. Run it through deploy/check.sh.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/sirupsen/logrus"
)

// problem is one finding: the file (relative to the repository root), a line
// when known (0 otherwise) and what is wrong.
type problem struct {
	file string
	line int
	msg  string
}

func (p problem) String() string {
	if p.line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.file, p.line, p.msg)
	}
	return fmt.Sprintf("%s: %s", p.file, p.msg)
}

type problems []problem

func (ps *problems) add(file string, line int, format string, args ...any) {
	*ps = append(*ps, problem{file: file, line: line, msg: fmt.Sprintf(format, args...)})
}

// paths of the checked files, relative to the repository root.
const (
	dockerfilePath   = "Dockerfile"
	dockerignorePath = ".dockerignore"
	goModPath        = "go.mod"
	appEnvExample    = ".env.example"
	composePath      = "deploy/compose.yaml"
	deployEnvExample = "deploy/.env.example"
	caddyfilePath    = "deploy/Caddyfile"
)

func main() {
	root := flag.String("root", ".", "repository root")
	flag.Parse()

	abs, err := filepath.Abs(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy check:", err)
		os.Exit(2)
	}

	ps := run(abs)
	if len(ps) > 0 {
		sort.SliceStable(ps, func(i, j int) bool {
			if ps[i].file != ps[j].file {
				return ps[i].file < ps[j].file
			}
			return ps[i].line < ps[j].line
		})
		for _, p := range ps {
			fmt.Fprintln(os.Stderr, p)
		}
		fmt.Fprintf(os.Stderr, "deploy check: %d problem(s)\n", len(ps))
		os.Exit(1)
	}
	fmt.Println("deploy check: Dockerfile, .dockerignore and deploy/compose.yaml OK")
}

// run applies every check to the repository at root.
func run(root string) problems {
	// compose-go logs unset variables through logrus; they are reported
	// here as problems instead (undocumented in deploy/.env.example).
	logrus.SetOutput(io.Discard)

	var ps problems
	img := checkDockerfile(root, &ps)
	checkDockerignore(root, &ps)
	checkCompose(root, img, &ps)
	return ps
}
