package backend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// ListQuery selects one page of a bucket listing (ListObjectsV2 semantics).
type ListQuery struct {
	Prefix, Delimiter, StartAfter, ContinuationToken string
	MaxKeys                                          int // 1..1000; 0 = 1000
}

// ListPage is one page of a listing.
type ListPage struct {
	Objects               []ObjectInfo
	CommonPrefixes        []string
	IsTruncated           bool
	NextContinuationToken string
}

// maxListBody bounds the listing document read from the store (1000 keys of
// 1 KiB plus metadata fit comfortably).
const maxListBody = 32 << 20

// ListObjects lists one page with ListObjectsV2. It asks for user metadata
// with each entry (MinIO's "metadata=true" extension, one request per page);
// entries of stores that ignore it have MetadataKnown false.
func (c *Client) ListObjects(ctx context.Context, bucket string, q ListQuery) (ListPage, error) {
	v := url.Values{}
	v.Set("list-type", "2")
	v.Set("encoding-type", "url")
	v.Set("metadata", "true")
	if q.MaxKeys <= 0 || q.MaxKeys > 1000 {
		q.MaxKeys = 1000
	}
	v.Set("max-keys", strconv.Itoa(q.MaxKeys))
	for name, val := range map[string]string{"prefix": q.Prefix, "delimiter": q.Delimiter, "start-after": q.StartAfter, "continuation-token": q.ContinuationToken} {
		if val != "" {
			v.Set(name, val)
		}
	}
	u := *c.endpoint
	u.Path = "/" + bucket + "/"
	u.RawQuery = strings.ReplaceAll(v.Encode(), "+", "%20")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return ListPage{}, &Error{err: err}
	}
	empty := sha256.Sum256(nil)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(empty[:]))
	req = signer.SignV4(*req, c.creds.AccessKeyID, c.creds.SecretAccessKey, "", c.region)
	resp, err := c.http.Do(req)
	if err != nil {
		return ListPage{}, &Error{err: err}
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxListBody)
	if resp.StatusCode != http.StatusOK {
		return ListPage{}, readError(resp.StatusCode, body)
	}
	var doc listV2Document
	if err := xml.NewDecoder(body).Decode(&doc); err != nil {
		return ListPage{}, &Error{err: fmt.Errorf("decoding listing: %w", err)}
	}
	return doc.page()
}

func readError(status int, body io.Reader) error {
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	_ = xml.NewDecoder(body).Decode(&e)
	if e.Code == "" {
		e.Code = http.StatusText(status)
	}
	return &Error{Status: status, Code: e.Code, Message: e.Message}
}

type listV2Document struct {
	XMLName  xml.Name `xml:"ListBucketResult"` // anything else (an <Error>, an HTML page) is not a listing
	Contents []struct {
		Key          string       `xml:"Key"`
		LastModified string       `xml:"LastModified"`
		ETag         string       `xml:"ETag"`
		Size         int64        `xml:"Size"`
		StorageClass string       `xml:"StorageClass"`
		UserMetadata *metadataMap `xml:"UserMetadata"`
	} `xml:"Contents"`
	CommonPrefixes []struct {
		Prefix string `xml:"Prefix"`
	} `xml:"CommonPrefixes"`
	IsTruncated           bool   `xml:"IsTruncated"`
	NextContinuationToken string `xml:"NextContinuationToken"`
	EncodingType          string `xml:"EncodingType"`
}

func (d *listV2Document) page() (ListPage, error) {
	decode := func(s string) (string, error) {
		if d.EncodingType != "url" {
			return s, nil
		}
		return url.QueryUnescape(s)
	}
	p := ListPage{IsTruncated: d.IsTruncated, NextContinuationToken: d.NextContinuationToken}
	for _, o := range d.Contents {
		key, err := decode(o.Key)
		if err != nil {
			return ListPage{}, &Error{err: fmt.Errorf("decoding listing key: %w", err)}
		}
		oi := ObjectInfo{Key: key, Size: o.Size, ETag: o.ETag, StorageClass: o.StorageClass, Header: http.Header{}}
		oi.LastModified, _ = time.Parse(time.RFC3339Nano, o.LastModified)
		if o.UserMetadata != nil {
			oi.MetadataKnown = true
			oi.Metadata = map[string]string{}
			for k, v := range *o.UserMetadata {
				if l := strings.ToLower(k); strings.HasPrefix(l, "x-amz-meta-") {
					oi.Metadata[strings.TrimPrefix(l, "x-amz-meta-")] = v
				}
			}
		}
		p.Objects = append(p.Objects, oi)
	}
	for _, cp := range d.CommonPrefixes {
		prefix, err := decode(cp.Prefix)
		if err != nil {
			return ListPage{}, &Error{err: fmt.Errorf("decoding listing prefix: %w", err)}
		}
		p.CommonPrefixes = append(p.CommonPrefixes, prefix)
	}
	return p, nil
}

// metadataMap decodes <UserMetadata><Name>value</Name>...</UserMetadata>.
type metadataMap map[string]string

func (m *metadataMap) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*m = metadataMap{}
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var v string
			if err := d.DecodeElement(&v, &t); err != nil {
				return err
			}
			(*m)[t.Name.Local] = v
		case xml.EndElement:
			return nil
		}
	}
}
