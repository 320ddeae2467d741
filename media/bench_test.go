package media

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/image/draw"

	"xchat/internal/testserver"
)

var (
	photoOnce sync.Once
	photoJPEG []byte
)

// photo12MP is a 4000×3000 JPEG with smooth gradients and noise, roughly
// like a phone photo, generated once per test binary.
func photo12MP(tb testing.TB) []byte {
	photoOnce.Do(func() {
		const w, h = 4000, 3000
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		rnd := rand.New(rand.NewPCG(3, 4))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				n := uint8(rnd.IntN(24))
				img.SetRGBA(x, y, color.RGBA{uint8(x*200/w) + n, uint8(y*200/h) + n, uint8((x+y)*100/(w+h)) + n, 255})
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
			panic(err)
		}
		photoJPEG = buf.Bytes()
	})
	return photoJPEG
}

// BenchmarkEncryptedPhotoThumbnail: decrypt + decode + downscale a 12 MP
// JPEG to a 40×12-cell thumbnail (goal ≤ 150 ms).
func BenchmarkEncryptedPhotoThumbnail(b *testing.B) {
	ct, key, iv, err := EncryptFile(bytes.NewReader(photo12MP(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(ct)))
	b.ResetTimer()
	for b.Loop() {
		plain, err := DecryptFile(ct, key, iv[:])
		if err != nil {
			b.Fatal(err)
		}
		img, _, err := DecodeForDisplay(plain, 0, 40, 24)
		if err != nil {
			b.Fatal(err)
		}
		if th := Thumbnail(img, 40, 12); th.Bounds().Dx() != 32 {
			b.Fatalf("thumbnail %v", th.Bounds())
		}
	}
}

// BenchmarkScale compares downscalers on the decoded 12 MP photo.
func BenchmarkScale(b *testing.B) {
	img, _, err := DecodeImage(photo12MP(b), 0)
	if err != nil {
		b.Fatal(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 32, 24))
	b.Run("box+CatmullRom", func(b *testing.B) {
		for b.Loop() {
			Thumbnail(img, 40, 12)
		}
	})
	b.Run("ApproxBiLinear", func(b *testing.B) {
		for b.Loop() {
			draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
		}
	})
	b.Run("CatmullRom", func(b *testing.B) {
		for b.Loop() {
			draw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
		}
	})
	b.Run("DC decode 1/8", func(b *testing.B) {
		data := photo12MP(b)
		for b.Loop() {
			if _, err := decodeJPEGDC(data, DefaultMaxPixels); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("full decode", func(b *testing.B) {
		data := photo12MP(b)
		for b.Loop() {
			if _, _, err := DecodeImage(data, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHalfBlock renders a 40×12-cell thumbnail (goal ≤ 2 ms).
func BenchmarkHalfBlock(b *testing.B) {
	th := Thumbnail(testPattern(400, 240), 40, 12)
	for b.Loop() {
		if lines := HalfBlock(th, 40, 12); len(lines) != 12 {
			b.Fatalf("%d lines", len(lines))
		}
	}
}

const benchUploadSize = 8 << 20

func uploadBenchSetup(b *testing.B) (*testserver.Server, *xmppConn, Service, string) {
	srv := testserver.Start(b, testserver.Options{UploadSizeLimit: 64 << 20})
	c := dialXMPP(b, srv)
	svc, err := Discover(context.Background(), c.query, srv.Domain)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "payload.bin")
	data := make([]byte, benchUploadSize)
	cryptorand.Read(data)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return srv, c, svc, path
}

// BenchmarkUploadProsody measures slot request + PUT of 8 MiB to Prosody
// over loopback HTTPS.
func BenchmarkUploadProsody(b *testing.B) {
	srv, c, svc, path := uploadBenchSetup(b)
	hc := srv.HTTPClient()
	b.SetBytes(benchUploadSize)
	b.ResetTimer()
	for b.Loop() {
		slot, err := c.slot(b, svc, "payload.bin", benchUploadSize, "application/octet-stream")
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		err = Upload(context.Background(), hc, slot, f, benchUploadSize, "application/octet-stream", nil)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUploadCurl does the same with `curl -T` for comparison.
func BenchmarkUploadCurl(b *testing.B) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		b.Skip("curl not installed")
	}
	srv, c, svc, path := uploadBenchSetup(b)
	_, port, _ := net.SplitHostPort(srv.HTTPSAddr)
	b.SetBytes(benchUploadSize)
	b.ResetTimer()
	for b.Loop() {
		slot, err := c.slot(b, svc, "payload.bin", benchUploadSize, "application/octet-stream")
		if err != nil {
			b.Fatal(err)
		}
		args := []string{"-sS", "--fail", "-o", "/dev/null", "-T", path,
			"--cacert", srv.CAFile, "--resolve", "localhost:" + port + ":127.0.0.1",
			"-H", "Content-Type: application/octet-stream"}
		for name, vs := range slot.Header {
			for _, v := range vs {
				args = append(args, "-H", name+": "+v)
			}
		}
		args = append(args, slot.PutURL)
		if out, err := exec.Command(curl, args...).CombinedOutput(); err != nil {
			b.Fatalf("curl: %v\n%s", err, out)
		}
	}
}
