package ui

import (
	"context"
	"errors"
	"sync"

	"xchat/media"
	"xchat/session"
)

// mediaFake scripts the file transfers of a fakeAccount.
type mediaFake struct {
	// files maps URLs to their bytes; a missing URL fails the download.
	files map[string][]byte
	// send, when set, runs instead of the default upload (which reports
	// progress in four steps and succeeds).
	send    func(ctx context.Context, to, path string, progress session.FileProgress) (session.SentFile, error)
	mu      sync.Mutex
	fetched []string
}

var mediaFakes sync.Map // *fakeAccount → *mediaFake

// mediaOf returns the scripted transfers of f.
func mediaOf(f *fakeAccount) *mediaFake {
	v, _ := mediaFakes.LoadOrStore(f, &mediaFake{files: map[string][]byte{}})
	return v.(*mediaFake)
}

func (f *fakeAccount) SendFile(ctx context.Context, to, path string, progress session.FileProgress) (session.SentFile, error) {
	f.record("SendFile", to, path)
	mf := mediaOf(f)
	if mf.send != nil {
		return mf.send(ctx, to, path, progress)
	}
	const total = 4000
	for sent := int64(0); sent <= total; sent += 1000 {
		progress(sent, total)
	}
	u := "https://upload.example.org/f/" + path
	m, err := f.SendMessage(ctx, to, u)
	return session.SentFile{Message: m, URL: u, GetURL: u, Size: total}, err
}

func (f *fakeAccount) FetchFile(_ context.Context, rawURL string, maxSize int64) (*media.Downloaded, error) {
	mf := mediaOf(f)
	mf.mu.Lock()
	mf.fetched = append(mf.fetched, rawURL)
	data, ok := mf.files[rawURL]
	mf.mu.Unlock()
	if !ok {
		return nil, errors.New("download failed: HTTP 404 Not Found")
	}
	if maxSize > 0 && int64(len(data)) > maxSize {
		return nil, media.ErrTooBig
	}
	return &media.Downloaded{Data: data, ContentType: media.SniffType(data)}, nil
}

func (mf *mediaFake) Fetched() []string {
	mf.mu.Lock()
	defer mf.mu.Unlock()
	return append([]string(nil), mf.fetched...)
}
