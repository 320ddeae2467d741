// Package media is the photos-and-files core of xchat.
//
// Sending a file (XEP-0363 HTTP File Upload):
//
//	svc, err := media.Discover(ctx, query, domain) // disco#info / disco#items
//	size, err := media.CheckFile(path, &svc)       // before any traffic
//	raw := <IQ get to svc.JID with media.SlotRequest(name, size, type)>
//	slot, err := media.ParseSlot(raw)              // or a *SlotError
//	err = media.Upload(ctx, httpClient, slot, file, size, type, progress)
//
// For an encrypted file (XEP-0454) encrypt first with EncryptFile, request
// the slot for EncryptedSize, upload the ciphertext and send the URL made by
// MakeAESGCMURL. ParseSlot wants the raw answer, error stanza included: the
// <file-too-large/> and <retry/> details live there.
//
// Receiving: MessageLinks finds https:// and aesgcm:// URLs in a body and
// in XEP-0066 OOB data; ShouldAutoDownload decides whether to fetch without
// asking; Download fetches with https only (plain http for listed hosts),
// at most 3 redirects, a size cap, a content type sniffed from the bytes,
// aesgcm decryption and an optional private cache.
//
// Images: DecodeImage (JPEG, PNG, GIF first frame, WebP) refuses
// decompression bombs from the header before decoding; DecodeForDisplay
// adds a 1/8-scale DC-only decoder that makes thumbnails of big baseline
// JPEGs several times faster; Thumbnail and ScaleToFit downscale;
// StripJPEGMetadata removes Exif (GPS), XMP and IPTC before upload. The
// terminal renderers are HalfBlock, KittyImage, ITerm2Image and SixelImage,
// chosen by DetectProtocol; KittyTransmit and KittyPlaceholder show an
// image as text cells (kitty's Unicode placeholders) that scroll with the
// text around them. SafeFilename and CreateUnique/SaveUnique save
// files under names that cannot escape or hide.
//
// Protocol code works on XML bytes and values and does no I/O; the transfer
// functions take an injected *http.Client and a context, so callers decide
// on TLS roots, proxies and timeouts, and tests run against loopback
// servers. The package must not import ui or session.
package media
