package file

import (
	"fmt"

	"secureapi/internal/platform/apperr"
)

// ErrUploadAborted is returned when the upload body could not be read to its
// end (the client went away or the connection broke); nothing is stored.
var ErrUploadAborted = apperr.New(apperr.Invalid, "The upload was interrupted before it completed.")

func unsupported(detail string) error { return apperr.New(apperr.Unsupported, detail) }

func tooLarge(limit int64) error {
	return apperr.New(apperr.TooLarge, fmt.Sprintf("The file exceeds the %d-byte limit.", limit))
}

func overQuota(quota int64) error {
	return apperr.New(apperr.TooLarge, fmt.Sprintf("Upload exceeds your storage quota of %d bytes.", quota))
}
