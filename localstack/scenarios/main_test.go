package scenarios

import (
	"os"
	"testing"

	"github.com/tapctl/tapctl/localstack"
)

func TestMain(m *testing.M) { os.Exit(localstack.Main(m)) }
