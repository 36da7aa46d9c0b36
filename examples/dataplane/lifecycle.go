package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/directory"
)

// tenants is the tenant directory the demo starts with. The first three
// match their tokens' tier claims; umbrella is suspended in part 4 and
// hooli downgraded in part 5.
func tenants() map[string]directory.Entry {
	return map[string]directory.Entry{
		"acme":     {Status: directory.Active, Tier: "enterprise"},
		"globex":   {Status: directory.Active, Tier: "pro"},
		"initech":  {Status: directory.Active, Tier: "free"},
		"umbrella": {Status: directory.Active, Tier: "pro"},
		"hooli":    {Status: directory.Active, Tier: "pro"},
	}
}

// change sets id's entry in the directory and sends the control plane's
// event for it to the edge, which invalidates its cached answer (a Redis
// feed, directory/redisfeed, does the same for a whole fleet).
func (d *demo) change(id string, e directory.Entry, detailType string) (int, error) {
	d.dir.Set(id, e)
	event, err := json.Marshal(map[string]any{
		"version": "0", "source": "com.example.control-plane", "detail-type": detailType,
		"detail": map[string]string{"tenantId": id},
	})
	if err != nil {
		return 0, err
	}
	req, _ := http.NewRequestWithContext(d.ctx, http.MethodPost, d.events, bytes.NewReader(event))
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return resp.StatusCode, fmt.Errorf("control-plane event %q: status %d", detailType, resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// suspension suspends a tenant between two requests with the same token:
// the directory's answer is cached for its TTL, so the suspension alone
// changes nothing until the control plane's event invalidates it; the next
// request is then refused.
func (d *demo) suspension() error {
	fmt.Fprintln(d.out, "\n4. Suspension: umbrella is suspended mid-run (same token throughout)")
	token := d.idp.TokenWithClaims(d.claims("umbrella", "pro"))
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATUS\tEDGE SAW\tBACKEND SAW\tPROBLEM TYPE")
	row := func(step string) error {
		r, err := d.get(token, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", step, r.status, dash(r.tenant), dash(r.backend), dash(r.problemType))
		return nil
	}
	if err := row("umbrella active"); err != nil {
		return err
	}
	d.dir.Set("umbrella", directory.Entry{Status: directory.Suspended, Tier: "pro"})
	if err := row("suspended in the directory, answer still cached (TTL 10s)"); err != nil {
		return err
	}
	status, err := d.change("umbrella", directory.Entry{Status: directory.Suspended, Tier: "pro"}, "Tenant Suspended")
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "event \"Tenant Suspended\" to the edge\t%d\t-\t-\t-\n", status)
	if err := row("next request"); err != nil {
		return err
	}
	return tw.Flush()
}

// downgrade moves a tenant from pro to free in the directory: with the same
// token (whose claim still says pro) it now gets the free tier's limit.
func (d *demo) downgrade() error {
	fmt.Fprintln(d.out, "\n5. Downgrade: hooli moves from pro to free (token still claims pro)")
	token := d.idp.TokenWithClaims(d.claims("hooli", "pro"))
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tTIER SEEN\tPLAN\tTRAFFIC\t200\t429 RATE\tFIRST 429")
	burst := func(when, plan string) error {
		const n = 20
		ok, limited, first, tier := 0, 0, "-", ""
		for i := range n {
			r, err := d.get(token, nil)
			if err != nil {
				return err
			}
			switch {
			case r.status == http.StatusOK:
				ok++
				tier = r.tier
			case r.status == http.StatusTooManyRequests && r.reason == "rate":
				limited++
				if first == "-" {
					first = fmt.Sprintf("request %d", i+1)
				}
			default:
				return fmt.Errorf("hooli %s: unexpected status %d (%s)", when, r.status, r.problem)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d in a row\t%d\t%d\t%s\n", when, dash(tier), plan, n, ok, limited, first)
		return nil
	}
	if err := burst("before", "600/min, burst 50"); err != nil {
		return err
	}
	if _, err := d.change("hooli", directory.Entry{Status: directory.Active, Tier: "free"}, "Tenant Tier Changed"); err != nil {
		return err
	}
	if err := burst("after", "20/s, burst 5"); err != nil {
		return err
	}
	return tw.Flush()
}

// machineClient issues an API key to a machine client of acme and calls the
// edge with it, as a bearer token and in X-API-Key; the edge sends the
// backend a signed assertion, never the key. A mistyped key, a revoked key
// and a key of a suspended tenant are refused.
func (d *demo) machineClient() error {
	fmt.Fprintln(d.out, "\n6. Machine client: an API key acting for its tenant")
	key, rec, err := d.keys.Create(d.ctx, "acme", apikey.CreateOptions{Scopes: []string{"orders:read"}})
	if err != nil {
		return err
	}
	parsed, err := apikey.Parse(apikey.DefaultPrefix, key)
	if err != nil {
		return err
	}
	// The only copy of the secret is handed to the client, once; the store
	// keeps its digest. Printed here without the secret.
	fmt.Fprintf(d.out, "created for acme: %s (%d characters; the secret is shown once, to its owner, and masked here)\n",
		parsed, len(key))
	umbrellaKey, _, err := d.keys.Create(d.ctx, "umbrella", apikey.CreateOptions{})
	if err != nil {
		return err
	}
	// A typo in the last character breaks the checksum: refused without a
	// store lookup.
	typo := key[:len(key)-1] + "a"
	if strings.HasSuffix(key, "a") {
		typo = key[:len(key)-1] + "b"
	}

	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tSTATUS\tEDGE SAW\tTIER\tBACKEND SAW\tREASON")
	call := func(what, bearer string, header map[string]string) error {
		r, err := d.get(bearer, header)
		if err != nil {
			return err
		}
		reason := r.problem
		if r.problemType != "" && r.problemType != "about:blank" {
			reason = r.problemType
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", what, r.status, dash(r.tenant), dash(r.tier), dash(r.backend), dash(reason))
		return nil
	}
	if err := call("Authorization: Bearer <key>", key, nil); err != nil {
		return err
	}
	if err := call("X-API-Key: <key>", "", map[string]string{apikey.HeaderKey: key}); err != nil {
		return err
	}
	if err := call("mistyped key", typo, nil); err != nil {
		return err
	}
	if err := call("key of suspended umbrella", umbrellaKey, nil); err != nil {
		return err
	}
	if err := d.keys.Revoke(d.ctx, rec.KeyID); err != nil {
		return err
	}
	if err := call("same key, revoked", key, nil); err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(d.out, "the backend got a signed assertion from the edge: an API key is never sent on")
	return nil
}
