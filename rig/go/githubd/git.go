package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Repository content goes through the git binary on bare repositories, so commits are real git
// objects that Flux (over SSH) and `git hash-object` agree with.

type ident struct{ Name, Email string }

var rigIdent = ident{"rig", "rig@githubd.invalid"}

// gitEnv drops the caller's GIT_* variables and git configuration, so a test run inside a git
// hook or an operator's ~/.gitconfig cannot change what the double writes. Dates are in UTC, as
// GitHub reports them.
func gitEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "TZ=") {
			env = append(env, kv)
		}
	}
	env = append(env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "TZ=UTC")
	return append(env, extra...)
}

// git runs one git command on the bare repository dir.
func git(dir string, env []string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"--git-dir=" + dir, "--literal-pathspecs"}, args...)...)
	cmd.Env = gitEnv(env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func initBare(dir string) error {
	os.RemoveAll(dir) // leftovers of a repository deleted by hand
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	cmd := exec.Command("git", "init", "--quiet", "--bare", "-b", "main", dir)
	cmd.Env = gitEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git init: %v: %s", err, out)
	}
	// Flux's source-controller may ask for partial clones.
	_, err := git(dir, nil, nil, "config", "uploadpack.allowFilter", "true")
	return err
}

// revParse resolves a revision ("refs/heads/main", a sha) to a commit; client input starting
// with '-' would be an option.
func revParse(dir, rev string) (string, bool) {
	if strings.HasPrefix(rev, "-") {
		return "", false
	}
	out, err := git(dir, nil, nil, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	return strings.TrimSpace(out), err == nil
}

// branches returns branch name → commit, and the names sorted.
func branches(dir string) (map[string]string, []string) {
	out, _ := git(dir, nil, nil, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
	m, names := map[string]string{}, []string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if sha, ref, ok := strings.Cut(line, " "); ok {
			m[strings.TrimPrefix(ref, "refs/heads/")] = sha
			names = append(names, strings.TrimPrefix(ref, "refs/heads/"))
		}
	}
	sort.Strings(names)
	return m, names
}

type treeEntry struct {
	Mode, Type, SHA, Path string
	Size                  int64
}

// lsTree lists rev's tree: the root's children with no path, the entry itself for "a/b", the
// children of a directory for "a/b/".
func lsTree(dir, rev string, paths ...string) []treeEntry {
	out, _ := git(dir, nil, nil, append([]string{"ls-tree", "-l", "-z", rev, "--"}, paths...)...)
	var entries []treeEntry
	for _, rec := range strings.Split(out, "\x00") {
		meta, path, ok := strings.Cut(rec, "\t")
		if f := strings.Fields(meta); ok && len(f) == 4 {
			size, _ := strconv.ParseInt(f[3], 10, 64) // "-" for trees: 0
			entries = append(entries, treeEntry{Mode: f[0], Type: f[1], SHA: f[2], Path: path, Size: size})
		}
	}
	return entries
}

// fileEntry returns the entry at path on rev, or nil.
func fileEntry(dir, rev, path string) *treeEntry {
	for _, e := range lsTree(dir, rev, path) {
		if e.Path == path {
			return &e
		}
	}
	return nil
}

func listFiles(dir, rev string) []string {
	out, _ := git(dir, nil, nil, "ls-tree", "-r", "-z", "--name-only", rev)
	return strings.FieldsFunc(out, func(r rune) bool { return r == 0 })
}

// commitFiles makes one commit on top of parent ("" for a new root) that writes files and removes
// deletes, then moves branch with a compare-and-swap from old ("" when it must not exist yet), so
// a push that raced in over SSH is never overwritten.
func commitFiles(dir, branch, parent, old string, files map[string][]byte, deletes []string, msg string, author, committer ident) (string, error) {
	tmp, err := os.CreateTemp("", "githubd-index-*")
	if err != nil {
		return "", err
	}
	index := tmp.Name()
	tmp.Close()
	os.Remove(index) // git refuses an empty index file; it writes its own
	defer os.Remove(index)
	env := []string{"GIT_INDEX_FILE=" + index}
	step := func(stdin []byte, args ...string) string { // stops at the first failure
		out := ""
		if err == nil {
			out, err = git(dir, env, stdin, args...)
		}
		return strings.TrimSpace(out)
	}
	if parent == "" {
		step(nil, "read-tree", "--empty")
	} else {
		step(nil, "read-tree", parent)
	}
	// update-index would settle a file/directory collision by silently dropping entries.
	var check []string
	for path := range files {
		check = append(check, path)
		for i := range len(path) {
			if path[i] == '/' {
				check = append(check, path[:i])
			}
		}
	}
	var existing []treeEntry
	if parent != "" && len(check) > 0 {
		existing = lsTree(dir, parent, check...)
	}
	wanted := make(map[string]bool, len(check))
	for _, c := range check {
		wanted[c] = true
	}
	for _, e := range existing {
		// ls-tree descends into a tree named by one pattern to match a longer one, so it also lists
		// entries below it; only the paths asked about can collide.
		if !wanted[e.Path] {
			continue
		}
		if _, isFile := files[e.Path]; isFile == (e.Type == "tree") {
			return "", fmt.Errorf("%s: a file and a directory cannot have the same path", e.Path)
		}
	}
	var info bytes.Buffer // update-index -z --index-info records "mode sha\tpath\0"; mode 0 removes
	for path, content := range files {
		fmt.Fprintf(&info, "100644 %s\t%s\x00", step(content, "hash-object", "-w", "--stdin"), path)
	}
	for _, path := range deletes {
		fmt.Fprintf(&info, "0 %s\t%s\x00", strings.Repeat("0", 40), path)
	}
	step(info.Bytes(), "update-index", "-z", "--index-info")
	tree := step(nil, "write-tree")
	if err != nil {
		return "", err
	}
	return commitTree(dir, branch, parent, old, tree, msg, author, committer)
}

func commitTree(dir, branch, parent, old, tree, msg string, author, committer ident) (string, error) {
	args := []string{"commit-tree", tree, "-m", msg}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	out, err := git(dir, []string{"GIT_AUTHOR_NAME=" + author.Name, "GIT_AUTHOR_EMAIL=" + author.Email,
		"GIT_COMMITTER_NAME=" + committer.Name, "GIT_COMMITTER_EMAIL=" + committer.Email}, nil, args...)
	if err != nil {
		return "", err
	}
	sha := strings.TrimSpace(out)
	_, err = git(dir, nil, nil, "update-ref", "refs/heads/"+branch, sha, old)
	return sha, err
}

// copyBranch gives dst's branch one commit "Initial commit" holding src's branch tree: what
// GitHub makes of a template, whose history is not copied.
func copyBranch(dst, src, branch string) error {
	tmpRef := "refs/rig-template/" + branch
	if _, err := git(dst, nil, nil, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", src, "+refs/heads/"+branch+":"+tmpRef); err != nil {
		return err
	}
	defer git(dst, nil, nil, "update-ref", "-d", tmpRef)
	tree, err := git(dst, nil, nil, "rev-parse", tmpRef+"^{tree}")
	if err == nil {
		_, err = commitTree(dst, branch, "", "", strings.TrimSpace(tree), "Initial commit", rigIdent, rigIdent)
	}
	return err
}

// setHead points HEAD at the default branch, so a clone checks out what GitHub calls default.
func setHead(dir, branch string) error {
	_, err := git(dir, nil, nil, "symbolic-ref", "HEAD", "refs/heads/"+branch)
	return err
}

type commitMeta struct {
	SHA, Tree, Message     string
	Parents                []string
	Author, Committer      ident
	AuthorDate, CommitDate time.Time
}

func readCommit(dir, sha string) commitMeta {
	out, _ := git(dir, nil, nil, "log", "-1", "--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha)
	f := append(strings.SplitN(out, "\x00", 10), make([]string, 10)...) // never short, even on error
	ad, _ := time.Parse(time.RFC3339, f[5])
	cd, _ := time.Parse(time.RFC3339, f[8])
	return commitMeta{SHA: f[0], Tree: f[1], Parents: strings.Fields(f[2]), Author: ident{f[3], f[4]}, AuthorDate: ad,
		Committer: ident{f[6], f[7]}, CommitDate: cd, Message: strings.TrimRight(f[9], "\n")}
}
