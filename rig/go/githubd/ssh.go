package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// The SSH side answers like GitHub's git@github.com: user git, deploy keys only, and the
// messages GitHub prints when a key may not read or write a repository.

type ctxKeyType struct{}

var ctxDeployKey ctxKeyType

// hostKey loads the ed25519 host key, generating it on first start so known_hosts stays valid
// across restarts.
func hostKey(path string) (gossh.Signer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		block, merr := gossh.MarshalPrivateKey(priv, "githubd host key")
		if merr != nil {
			return nil, merr
		}
		b = pem.EncodeToMemory(block)
		err = os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		return nil, err
	}
	return gossh.ParsePrivateKey(b)
}

// authorizedKey is "type base64", the form deploy keys are stored and compared in.
func authorizedKey(k gossh.PublicKey) string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k)))
}

// sshAuth admits any key registered as a deploy key somewhere; whether it may use the repository
// asked for is decided per command, so the client gets GitHub's "Repository not found".
func (s *server) sshAuth(ctx ssh.Context, key ssh.PublicKey) bool {
	if ctx.User() != "git" {
		return false
	}
	norm := authorizedKey(key)
	s.mu.Lock()
	k := s.st.findKey(norm)
	s.mu.Unlock()
	if k == nil {
		return false
	}
	ctx.SetValue(ctxDeployKey, norm)
	return true
}

// parseGitCommand accepts what git and go-git send: git-upload-pack '/owner/repo.git', with or
// without quotes, leading slash and .git.
func parseGitCommand(raw string) (service, owner, name string, ok bool) {
	service, arg, found := strings.Cut(strings.TrimSpace(raw), " ")
	if !found || (service != "git-upload-pack" && service != "git-receive-pack") {
		return "", "", "", false
	}
	arg = strings.TrimSpace(arg)
	if len(arg) >= 2 && (arg[0] == '\'' || arg[0] == '"') && arg[len(arg)-1] == arg[0] {
		arg = arg[1 : len(arg)-1]
	}
	arg = strings.TrimSuffix(strings.TrimSuffix(strings.Trim(arg, "/"), ".git"), "/")
	owner, name, found = strings.Cut(arg, "/")
	if !found || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", "", false
	}
	return service, owner, name, true
}

func (s *server) sshSession(sess ssh.Session) {
	fail := func(msg string) {
		fmt.Fprintf(sess.Stderr(), "ERROR: %s\n", msg)
		log.Printf("ssh %q: %s", sess.RawCommand(), msg)
		sess.Exit(1)
	}
	service, owner, name, ok := parseGitCommand(sess.RawCommand())
	if !ok {
		fmt.Fprintln(sess.Stderr(), "Hi! You've successfully authenticated, but githubd (a GitHub double) does not provide shell access.")
		sess.Exit(1)
		return
	}
	norm, _ := sess.Context().Value(ctxDeployKey).(string)
	push := service == "git-receive-pack"
	s.mu.Lock()
	rp, dir, msg := s.st.find(owner, name), "", "Repository not found."
	var keys []*DeployKey
	if rp != nil {
		keys = rp.Keys
	}
	for _, k := range keys {
		if k.Key != norm {
			continue
		}
		now := time.Now().UTC()
		k.LastUsed = &now
		switch dir, msg = s.repoDir(rp), ""; {
		case push && k.ReadOnly:
			msg = "The key you are authenticating with has been marked as read only."
		case push && rp.flag("archived"):
			msg = "This repository was archived so it is read-only."
		}
		s.save()
	}
	s.mu.Unlock()
	if msg != "" {
		fail(msg)
		return
	}

	cmd := exec.Command("git", strings.TrimPrefix(service, "git-"), dir)
	var extra []string
	for _, kv := range sess.Environ() {
		if strings.HasPrefix(kv, "GIT_PROTOCOL=") { // protocol v2 is negotiated through this variable
			extra = append(extra, kv)
		}
	}
	cmd.Env = gitEnv(extra...)
	cmd.Stdout, cmd.Stderr = sess, sess.Stderr()
	// Our own stdin pump: exec's would make Wait block until the client closes its side.
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fail("internal error: " + err.Error())
		return
	}
	go func() {
		io.Copy(stdin, sess)
		stdin.Close()
	}()
	cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code < 0 { // killed by a signal: still a failure for the client
		code = 1
	}
	if push {
		s.mu.Lock()
		if rp := s.st.find(owner, name); rp != nil {
			s.touch(rp, "", false)
		}
		s.mu.Unlock()
	}
	sess.Exit(code)
}
