package media

import (
	"reflect"
	"testing"
)

func TestFindURLs(t *testing.T) {
	aes := "aesgcm://h.example/x.jpg#" + specIV + specKey
	tests := []struct {
		in   string
		want []string
	}{
		{"look https://h.example/a.png", []string{"https://h.example/a.png"}},
		{"(see https://h.example/a_(b).png), ok.", []string{"https://h.example/a_(b).png"}},
		{"(https://h.example/a.png)", []string{"https://h.example/a.png"}},
		{"end https://h.example/page?q=1.", []string{"https://h.example/page?q=1"}},
		{aes, []string{aes}},
		{"two: HTTPS://A.example/x.gif\n" + aes + "!", []string{"HTTPS://A.example/x.gif", aes}},
		{"<https://h.example/x>", []string{"https://h.example/x"}},
		{"plain http://h.example/x.png and ftp://x", nil},
		{"bare https:// alone", nil},
		{"https:///nohost", nil},
		{"no links here", nil},
	}
	for _, tc := range tests {
		if got := FindURLs(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("FindURLs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := map[string]Kind{
		"https://h.example/a.JPG":                      KindImage,
		"https://h.example/a.jpeg?x=1":                 KindImage,
		"https://h.example/a.webp#frag":                KindImage,
		"https://h.example/a%20b.gif":                  KindImage,
		"aesgcm://h.example/p.png#" + specIV + specKey: KindImage,
		"https://h.example/a.pdf":                      KindFile,
		"https://h.example/png":                        KindFile,
		"https://h.example/a.png/":                     KindFile,
		"https://h.example/":                           KindFile,
	}
	for u, want := range tests {
		if got := Classify(u); got != want {
			t.Errorf("Classify(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestParseOOBAndMessageLinks(t *testing.T) {
	raw := []byte(`<message xmlns='jabber:client' type='chat'>
<body>https://up.example/f/cat.jpg</body>
<x xmlns='jabber:x:oob'><url>https://up.example/f/cat.jpg</url></x>
<x xmlns='jabber:x:oob'><url> https://up.example/doc.pdf </url><desc>d</desc></x>
<x xmlns='urn:other'><url>https://evil.example/ignored</url></x>
<x xmlns='jabber:x:oob'><url>http://plain.example/a.png</url></x>
</message>`)
	urls, err := ParseOOB(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://up.example/f/cat.jpg", "https://up.example/doc.pdf", "http://plain.example/a.png"}
	if !reflect.DeepEqual(urls, want) {
		t.Fatalf("ParseOOB = %q", urls)
	}
	links := MessageLinks("https://up.example/f/cat.jpg and https://other.example/z", urls)
	wantLinks := []Link{
		{URL: "https://up.example/f/cat.jpg", Kind: KindImage, OOB: true},
		{URL: "https://up.example/doc.pdf", Kind: KindFile, OOB: true},
		{URL: "https://other.example/z", Kind: KindFile},
	}
	if !reflect.DeepEqual(links, wantLinks) {
		t.Fatalf("MessageLinks = %+v", links)
	}
	aes := "aesgcm://h.example/x.jpg#" + specIV + specKey
	links = MessageLinks(aes, nil)
	if len(links) != 1 || !links[0].Encrypted || links[0].Kind != KindImage {
		t.Fatalf("aesgcm link = %+v", links)
	}
	if _, err := ParseOOB([]byte("<x xmlns='jabber:x:oob'><url>")); err == nil {
		t.Error("truncated XML accepted")
	}
}
