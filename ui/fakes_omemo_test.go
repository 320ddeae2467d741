package ui

import (
	"context"
	"errors"

	"xchat/omemo"
)

// errNoOMEMO is what the plain fake account answers to OMEMO calls;
// omemoFake (omemo_test.go) overrides them.
var errNoOMEMO = errors.New("OMEMO is not available")

func (f *fakeAccount) Encryption(context.Context, string) (encryptionState, error) {
	return encryptionState{}, errNoOMEMO
}

func (f *fakeAccount) SetEncryption(context.Context, string, string) error { return errNoOMEMO }

func (f *fakeAccount) OMEMOOwn(context.Context) (uint32, string, string, error) {
	return 0, "", "", errNoOMEMO
}

func (f *fakeAccount) OMEMODevices(context.Context, string) ([]omemo.DeviceInfo, error) {
	return nil, errNoOMEMO
}

func (f *fakeAccount) OMEMOSetTrust(context.Context, string, string, omemo.TrustState) error {
	return errNoOMEMO
}

func (f *fakeAccount) OMEMOVerifyURI(context.Context, string) (int, error) { return 0, errNoOMEMO }

func (f *fakeAccount) OMEMORemoveDevices(context.Context, []uint32) error { return errNoOMEMO }
