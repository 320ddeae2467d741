package config

import (
	"strings"
	"testing"
)

func TestMediaSection(t *testing.T) {
	c, err := Parse("/conf/config.toml", []byte(`
[media]
auto_download_max = "2MB"
max_download = "512 KiB"
strip_metadata = false
image_protocol = "Kitty"
viewer = ["feh", "--scale-down"]
download_dir = "/tmp/dl"
http_hosts = ["Files.Example.org"]
`))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Media
	if m.MaxDownloadBytes() != 512<<10 || m.AutoDownloadBytes() != 512<<10 {
		t.Errorf("sizes: max %d auto %d", m.MaxDownloadBytes(), m.AutoDownloadBytes())
	}
	if m.Strip() || m.Protocol() != "kitty" || m.Viewer[1] != "--scale-down" || m.Downloads() != "/tmp/dl" || m.Hosts()[0] != "files.example.org" {
		t.Errorf("media %+v", m)
	}

	c, err = Parse("/conf/config.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Media; !d.Strip() || d.Protocol() != "auto" || d.MaxDownloadBytes() != 25<<20 || d.AutoDownloadBytes() != 5<<20 {
		t.Errorf("defaults: strip %v protocol %s max %d auto %d", d.Strip(), d.Protocol(), d.MaxDownloadBytes(), d.AutoDownloadBytes())
	}

	for doc, want := range map[string]string{
		"[media]\nmax_download = \"lots\"\n":           "media.max_download",
		"[media]\nauto_download_max = \"3 parsecs\"\n": "unknown unit",
		"[media]\nimage_protocol = \"ascii\"\n":        "media.image_protocol",
		"[media]\nhttp_hosts = [\"http://x.org\"]\n":   "not a host name",
		"[media]\nmax_download = \"0\"\n":              "more than 0",
	} {
		_, err := Parse("/conf/config.toml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", doc, err, want)
		}
	}
	if n, err := parseSize("1.5G", 0); err != nil || n != 3<<29 {
		t.Errorf("1.5G = %d, %v", n, err)
	}
}
