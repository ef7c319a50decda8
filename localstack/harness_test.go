package localstack

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestEmulatorAnswers(t *testing.T) {
	out, err := clients(t).STS.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) == "" {
		t.Fatal("no account in GetCallerIdentity")
	}
}

func TestStartGivesIndependentEmulatorsAndStopEndsThem(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two extra emulators")
	}
	a, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Start(context.Background())
	if err != nil {
		a.Stop()
		t.Fatal(err)
	}
	if a.URL == b.URL {
		t.Errorf("both emulators on %s", a.URL)
	}
	a.Stop()
	b.Stop()
	for _, url := range []string{a.URL, b.URL} {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			t.Errorf("%s still answers after Stop", url)
		}
	}
}
