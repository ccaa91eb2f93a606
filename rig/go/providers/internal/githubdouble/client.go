package githubdouble

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is the provider configuration the client needs.
type Config struct {
	Owner   string
	BaseURL string // with a trailing slash; used as given (no api/v3/ is appended)
	Token   string
	// WriteDelay is waited before the request that follows a write (writeDelayMs, default 1000 ms,
	// as terraform-provider-github's rate-limit transport).
	WriteDelay time.Duration
	// ReadDelay is waited before the request that follows a read (readDelayMs, default 0).
	ReadDelay time.Duration
	// MaxRetries, RetryDelay and Retryable: the retry transport (maxRetries 3, retryDelayMs 1000,
	// retryableErrors 500 502 503 504 by default).
	MaxRetries int
	RetryDelay time.Duration
	Retryable  map[int]bool
}

// Client is a minimal GitHub REST v3 client with the TF provider's transports (legacy client):
// one request at a time (parallelRequests is not honoured), writeDelayMs/readDelayMs before the
// request after a write/read, secondary rate limits waited out (Retry-After, or the reset time,
// at most a minute a time and five times a request; TF waits without limit), and maxRetries retries
// of a retryable status or of a request that got no answer, retryDelayMs apart.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client

	mu        sync.Mutex // serializes requests
	notBefore time.Time

	ownerMu  sync.Mutex
	owner    string
	orgKnown bool
	isOrg    bool
	orgID    int64
}

// NewClient returns a client for cfg.
func NewClient(cfg Config) (*Client, error) {
	if !strings.HasSuffix(cfg.BaseURL, "/") {
		cfg.BaseURL += "/"
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("invalid baseUrl %q: %w", cfg.BaseURL, err)
	}
	if base.Scheme != "http" && base.Scheme != "https" {
		return nil, fmt.Errorf("invalid baseUrl %q: not an http(s) URL", cfg.BaseURL)
	}
	return &Client{cfg: cfg, base: base, http: &http.Client{Timeout: 2 * time.Minute}, owner: cfg.Owner}, nil
}

// APIError is a GitHub error answer; its text follows go-github's
// ("PATCH https://api.github.com/repos/o/r: 422 Validation Failed [...]").
type APIError struct {
	Method  string
	URL     string
	Status  int
	Message string
	Errors  []string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, msg)
	if len(e.Errors) > 0 {
		s += " [" + strings.Join(e.Errors, "; ") + "]"
	}
	return s
}

// IsStatus reports whether err is a GitHub answer with that status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// IsNotFound reports a 404 answer.
func IsNotFound(err error) bool { return IsStatus(err, http.StatusNotFound) }

// isArchivedError is the 403 GitHub answers for writes on an archived repository
// (terraform-provider-github util_repo.go handleArchivedRepoDelete treats a delete then as done).
func isArchivedError(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusForbidden &&
		strings.Contains(strings.ToLower(ae.Message), "archived")
}

// P joins path segments, escaping each one.
func P(segments ...string) string {
	parts := make([]string, len(segments))
	for i, s := range segments {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// Request is one API call. Path is relative to the base URL ("repos/o/r").
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Body   any
	Accept string
	Out    any // decoded from a 2xx JSON answer when non-nil
	// Header, when non-nil, receives the answer's headers.
	Header *http.Header
}

// Do sends r and returns the answer's status.
func (c *Client) Do(ctx context.Context, r Request) (int, error) {
	u, err := url.Parse(c.base.String() + strings.TrimPrefix(r.Path, "/"))
	if err != nil {
		return 0, err
	}
	if r.Query != nil {
		u.RawQuery = r.Query.Encode()
	}
	var payload []byte
	if r.Body != nil {
		if payload, err = json.Marshal(r.Body); err != nil {
			return 0, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()

	retries, limited := 0, 0
	for {
		if wait := time.Until(c.notBefore); wait > 0 {
			if err := sleep(ctx, wait); err != nil {
				return 0, err
			}
		}
		status, hdr, body, err := c.send(ctx, r, u, payload)
		switch r.Method {
		case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
			c.notBefore = time.Now().Add(c.cfg.WriteDelay)
		default:
			c.notBefore = time.Now().Add(c.cfg.ReadDelay)
		}
		if err != nil {
			// The TF provider's retry transport retries a request that got no answer, too.
			if ctx.Err() == nil && retries < c.cfg.MaxRetries {
				retries++
				if err := sleep(ctx, c.cfg.RetryDelay); err != nil {
					return 0, err
				}
				continue
			}
			return 0, fmt.Errorf("%s %s: %w", r.Method, u.String(), err)
		}
		if r.Header != nil {
			*r.Header = hdr
		}
		if status < 300 || status == http.StatusNotModified {
			if r.Out != nil && len(bytes.TrimSpace(body)) > 0 && status != http.StatusNoContent {
				if err := json.Unmarshal(body, r.Out); err != nil {
					return status, fmt.Errorf("%s %s: %d: cannot decode the answer: %w", r.Method, u.String(), status, err)
				}
			}
			return status, nil
		}
		apiErr := parseError(r.Method, u.String(), status, body)
		// Secondary rate limits: wait as long as GitHub asks (at most a minute a time), then retry.
		if (status == http.StatusForbidden || status == http.StatusTooManyRequests) && limited < 5 {
			if wait, ok := retryAfter(hdr); ok {
				limited++
				if err := sleep(ctx, wait); err != nil {
					return status, err
				}
				continue
			}
		}
		if c.cfg.Retryable[status] && retries < c.cfg.MaxRetries {
			retries++
			if err := sleep(ctx, c.cfg.RetryDelay); err != nil {
				return status, err
			}
			continue
		}
		return status, apiErr
	}
}

func (c *Client) send(ctx context.Context, r Request, u *url.URL, payload []byte) (int, http.Header, []byte, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), body)
	if err != nil {
		return 0, nil, nil, err
	}
	accept := r.Accept
	if accept == "" {
		accept = "application/vnd.github+json"
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "pulumi-resource-github/"+Version+" (rig double, rig/go/providers)")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, data, nil
}

func parseError(method, u string, status int, body []byte) *APIError {
	e := &APIError{Method: method, URL: u, Status: status}
	var answer struct {
		Message string            `json:"message"`
		Errors  []json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &answer) == nil {
		e.Message = answer.Message
		for _, raw := range answer.Errors {
			var detail struct {
				Resource, Field, Code, Message string
			}
			var text string
			switch {
			case json.Unmarshal(raw, &text) == nil:
				e.Errors = append(e.Errors, text)
			case json.Unmarshal(raw, &detail) == nil:
				parts := []string{}
				for _, p := range []string{detail.Resource, detail.Field, detail.Code, detail.Message} {
					if p != "" {
						parts = append(parts, p)
					}
				}
				e.Errors = append(e.Errors, strings.Join(parts, " "))
			}
		}
	} else if s := strings.TrimSpace(string(body)); s != "" && len(s) < 300 {
		e.Message = s
	}
	return e
}

func retryAfter(h http.Header) (time.Duration, bool) {
	if s := h.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			return min(time.Duration(n)*time.Second, time.Minute), true
		}
	}
	if h.Get("X-Ratelimit-Remaining") == "0" {
		if n, err := strconv.ParseInt(h.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
			return min(max(time.Until(time.Unix(n, 0)), time.Second), time.Minute), true
		}
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Resolve does once what the TF provider's configureProviderMeta does when configured (legacy
// client): with no owner but a token, the owner is the token's user (GET user); an owner that
// GET orgs/{owner} answers is an organization (its id kept for the by-id team routes), a 404 makes
// it a user account, any other failure is an error.
func (c *Client) Resolve(ctx context.Context) error {
	c.ownerMu.Lock()
	defer c.ownerMu.Unlock()
	if c.orgKnown {
		return nil
	}
	if c.owner == "" && c.cfg.Token != "" {
		var user struct {
			Login string `json:"login"`
		}
		if _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "user", Out: &user}); err != nil {
			return fmt.Errorf("owner cannot be found by token: %w", err)
		}
		c.owner = user.Login
	}
	if c.owner != "" {
		var org struct {
			ID int64 `json:"id"`
		}
		_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: P("orgs", c.owner), Out: &org})
		switch {
		case err == nil:
			c.isOrg, c.orgID = true, org.ID
		case !IsNotFound(err):
			return fmt.Errorf("failed to lookup organization %q: %w", c.owner, err)
		}
	}
	c.orgKnown = true
	return nil
}

// Owner returns the owner (github:owner, or the token's user).
func (c *Client) Owner(ctx context.Context) (string, error) {
	if err := c.Resolve(ctx); err != nil {
		return "", err
	}
	if c.owner == "" {
		return "", errors.New("the GitHub owner is not set (github:owner, GITHUB_OWNER) and there is no token to find it from (" + Label + ")")
	}
	return c.owner, nil
}

// Org reports whether the owner is an organization, and its id.
func (c *Client) Org(ctx context.Context) (bool, int64, error) {
	if _, err := c.Owner(ctx); err != nil {
		return false, 0, err
	}
	return c.isOrg, c.orgID, nil
}

// checkOrganization is the TF provider's: some resources need an organization.
func (c *Client) checkOrganization(ctx context.Context) (int64, error) {
	isOrg, id, err := c.Org(ctx)
	if err != nil {
		return 0, err
	}
	if !isOrg {
		return 0, fmt.Errorf("this resource can only be used in the context of an organization, %q is a user", c.owner)
	}
	return id, nil
}

// List GETs every page of a list endpoint (per_page, then the Link header's rel="next", as
// go-github's NextPage) and hands each element to add.
func (c *Client) List(ctx context.Context, path string, perPage int, add func(json.RawMessage) error) error {
	if perPage <= 0 {
		perPage = 100
	}
	q := url.Values{"per_page": {strconv.Itoa(perPage)}}
	for range 1000 {
		var items []json.RawMessage
		var hdr http.Header
		if _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: path, Query: q, Out: &items, Header: &hdr}); err != nil {
			return err
		}
		for _, it := range items {
			if err := add(it); err != nil {
				return err
			}
		}
		next := nextPage(hdr.Get("Link"))
		if next == "" {
			return nil
		}
		q = url.Values{"per_page": {strconv.Itoa(perPage)}, "page": {next}}
	}
	return nil
}

// nextPage returns the page number of the rel="next" link, or "".
func nextPage(link string) string {
	for _, part := range strings.Split(link, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(params, `rel="next"`) {
			continue
		}
		u, err := url.Parse(strings.Trim(strings.TrimSpace(target), "<>"))
		if err != nil {
			return ""
		}
		return u.Query().Get("page")
	}
	return ""
}
