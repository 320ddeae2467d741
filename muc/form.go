package muc

import (
	"fmt"
	"slices"
)

// Form is an XEP-0004 data form.
type Form struct {
	Type         string // form, submit, cancel, result
	Title        string
	Instructions []string
	Fields       []Field
}

// Field is one form field.
type Field struct {
	Var      string
	Type     string // boolean, list-single, text-single, hidden, ... ("" = text-single)
	Label    string
	Desc     string
	Required bool
	Values   []string
	Options  []Option
}

// Option is a choice of a list field.
type Option struct {
	Label string
	Value string
}

// Value returns the first value ("" if none).
func (f *Field) Value() string {
	if len(f.Values) == 0 {
		return ""
	}
	return f.Values[0]
}

// Bool reads a boolean field ("1" or "true").
func (f *Field) Bool() bool { return parseBool(f.Value()) }

// HasOption reports whether a list field offers value (true for fields
// without options, which accept anything).
func (f *Field) HasOption(value string) bool {
	if len(f.Options) == 0 {
		return true
	}
	for _, o := range f.Options {
		if o.Value == value {
			return true
		}
	}
	return false
}

type wForm struct {
	Type         string   `xml:"type,attr"`
	Title        string   `xml:"title"`
	Instructions []string `xml:"instructions"`
	Fields       []struct {
		Var      string    `xml:"var,attr"`
		Type     string    `xml:"type,attr"`
		Label    string    `xml:"label,attr"`
		Desc     string    `xml:"desc"`
		Required *struct{} `xml:"required"`
		Values   []string  `xml:"value"`
		Options  []struct {
			Label string `xml:"label,attr"`
			Value string `xml:"value"`
		} `xml:"option"`
	} `xml:"field"`
}

func (w *wForm) form() *Form {
	f := &Form{Type: w.Type, Title: w.Title, Instructions: w.Instructions}
	for _, wf := range w.Fields {
		fld := Field{Var: wf.Var, Type: wf.Type, Label: wf.Label, Desc: wf.Desc, Required: wf.Required != nil, Values: wf.Values}
		for _, o := range wf.Options {
			fld.Options = append(fld.Options, Option{Label: o.Label, Value: o.Value})
		}
		f.Fields = append(f.Fields, fld)
	}
	return f
}

// ParseForm reads the first jabber:x:data form in raw (the form element
// itself or anything containing it).
func ParseForm(raw []byte) (*Form, error) {
	var w wForm
	if err := unmarshalPayload(raw, NSData, "x", &w); err != nil {
		return nil, err
	}
	return w.form(), nil
}

// FormType returns the value of the hidden FORM_TYPE field.
func (f *Form) FormType() string {
	if fld := f.Field("FORM_TYPE"); fld != nil {
		return fld.Value()
	}
	return ""
}

// Field returns the field named v, or nil.
func (f *Form) Field(v string) *Field {
	for i := range f.Fields {
		if f.Fields[i].Var == v {
			return &f.Fields[i]
		}
	}
	return nil
}

// Set replaces the values of field v. It reports false when the form has no
// such field, or when a list field does not offer one of the values.
func (f *Form) Set(v string, values ...string) bool {
	fld := f.Field(v)
	if fld == nil || fld.Type == "fixed" {
		return false
	}
	if fld.Type == "list-single" || fld.Type == "list-multi" {
		for _, val := range values {
			if !fld.HasOption(val) {
				return false
			}
		}
	}
	fld.Values = slices.Clone(values)
	return true
}

// SetBool sets a boolean field ("1" or "0").
func (f *Form) SetBool(v string, b bool) bool {
	if b {
		return f.Set(v, "1")
	}
	return f.Set(v, "0")
}

// Submit serialises the form as <x xmlns='jabber:x:data' type='submit'>
// with every field that has a var (fixed fields are not submitted).
func (f *Form) Submit() []byte {
	var w xw
	w.open("x", false, "xmlns", NSData, "type", "submit")
	for _, fld := range f.Fields {
		if fld.Var == "" || fld.Type == "fixed" {
			continue
		}
		w.open("field", false, "var", fld.Var, "type", fld.Type)
		for _, v := range fld.Values {
			w.elem("value", v)
		}
		w.close("field")
	}
	w.close("x")
	return w.bytes()
}

// String summarises a form for logs.
func (f *Form) String() string {
	return fmt.Sprintf("form %q (%s, %d fields)", f.FormType(), f.Type, len(f.Fields))
}
