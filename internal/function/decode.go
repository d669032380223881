package function

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// fromStruct decodes a protobuf Struct from the request into a typed
// object, as runtime.DefaultUnstructuredConverter would after Struct.AsMap,
// without building the intermediate map. Strict decoding rejects unknown
// fields. TestFromStruct holds it equal to the converter.
func fromStruct(s *structpb.Struct, into any, strict bool) error {
	v := reflect.ValueOf(into)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return errors.Errorf("cannot decode into %T", into)
	}
	d := decoder{strict: strict}
	return d.decodeFields(s.GetFields(), v.Elem())
}

type decoder struct{ strict bool }

// A decodeError names the field it is about. The path is collected in
// reverse while the error unwinds, so decoding builds no path strings.
type decodeError struct {
	rpath []string
	msg   string
}

func (e *decodeError) Error() string {
	p := make([]string, len(e.rpath))
	for i, s := range e.rpath {
		p[len(p)-1-i] = s
	}
	if len(p) == 0 {
		return e.msg
	}
	return strings.Join(p, ".") + ": " + e.msg
}

func errDecode(msg string) error { return &decodeError{msg: msg} }

// at prefixes err's path with name.
func at(err error, name string) error {
	var de *decodeError
	if errors.As(err, &de) {
		de.rpath = append(de.rpath, name)
	}
	return err
}

func (d decoder) decode(pb *structpb.Value, v reflect.Value) error {
	if _, null := pb.GetKind().(*structpb.Value_NullValue); null || pb == nil {
		v.SetZero()
		return nil
	}
	switch v.Type() {
	case quantityType:
		var q resource.Quantity
		var err error
		switch k := pb.GetKind().(type) {
		case *structpb.Value_StringValue:
			q, err = resource.ParseQuantity(k.StringValue)
		case *structpb.Value_NumberValue:
			q, err = resource.ParseQuantity(strconv.FormatFloat(k.NumberValue, 'f', -1, 64))
		default:
			err = errors.New("must be a string or a number")
		}
		if err != nil {
			return errDecode(err.Error())
		}
		v.Set(reflect.ValueOf(q))
		return nil
	case timeType:
		t, err := time.Parse(time.RFC3339, pb.GetStringValue())
		if err != nil {
			return errDecode(err.Error())
		}
		v.Set(reflect.ValueOf(metav1.NewTime(t)))
		return nil
	}

	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.decode(pb, v.Elem())
	case reflect.Struct:
		s, ok := pb.GetKind().(*structpb.Value_StructValue)
		if !ok {
			return errDecode("must be an object")
		}
		return d.decodeFields(s.StructValue.GetFields(), v)
	case reflect.Map:
		s, ok := pb.GetKind().(*structpb.Value_StructValue)
		if !ok {
			return errDecode("must be an object")
		}
		f := s.StructValue.GetFields()
		m := reflect.MakeMapWithSize(v.Type(), len(f))
		for k, e := range f {
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(e, ev); err != nil {
				return at(err, k)
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
		return nil
	case reflect.Slice:
		l, ok := pb.GetKind().(*structpb.Value_ListValue)
		if !ok {
			return errDecode("must be a list")
		}
		vals := l.ListValue.GetValues()
		sl := reflect.MakeSlice(v.Type(), len(vals), len(vals))
		for i, e := range vals {
			if err := d.decode(e, sl.Index(i)); err != nil {
				return at(err, strconv.Itoa(i))
			}
		}
		v.Set(sl)
		return nil
	case reflect.String:
		s, ok := pb.GetKind().(*structpb.Value_StringValue)
		if !ok {
			return errDecode("must be a string")
		}
		v.SetString(s.StringValue)
		return nil
	case reflect.Bool:
		b, ok := pb.GetKind().(*structpb.Value_BoolValue)
		if !ok {
			return errDecode("must be a boolean")
		}
		v.SetBool(b.BoolValue)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := pb.GetKind().(*structpb.Value_NumberValue)
		if !ok || n.NumberValue != float64(int64(n.NumberValue)) || v.OverflowInt(int64(n.NumberValue)) {
			return errDecode("must be an integer")
		}
		v.SetInt(int64(n.NumberValue))
		return nil
	case reflect.Float32, reflect.Float64:
		n, ok := pb.GetKind().(*structpb.Value_NumberValue)
		if !ok {
			return errDecode("must be a number")
		}
		v.SetFloat(n.NumberValue)
		return nil
	default:
		return errDecode("cannot decode into a " + v.Type().String())
	}
}

// decodeFields decodes an object's fields into a struct, inlining embedded
// structs.
func (d decoder) decodeFields(f map[string]*structpb.Value, v reflect.Value) error {
	known := 0
	if err := d.decodeKnown(f, v, &known); err != nil {
		return err
	}
	if d.strict && known < len(f) {
		keys := make([]string, 0, len(f))
		for k := range f {
			keys = append(keys, k)
		}
		sort.Strings(keys) // The first unknown field, whatever the map's order.
		for _, k := range keys {
			if !hasField(v.Type(), k) {
				return errDecode(fmt.Sprintf("unknown field %q", k))
			}
		}
	}
	return nil
}

func (d decoder) decodeKnown(f map[string]*structpb.Value, v reflect.Value, known *int) error {
	for i, jf := range jsonFields(v.Type()) {
		switch {
		case jf.name == "":
			continue
		case jf.inline:
			if err := d.decodeKnown(f, v.Field(i), known); err != nil {
				return err
			}
			continue
		}
		e, ok := f[jf.name]
		if !ok {
			continue
		}
		*known++
		if err := d.decode(e, v.Field(i)); err != nil {
			return at(err, jf.name)
		}
	}
	return nil
}

func hasField(t reflect.Type, name string) bool {
	for i, jf := range jsonFields(t) {
		if jf.name == name && !jf.inline {
			return true
		}
		if jf.inline && hasField(t.Field(i).Type, name) {
			return true
		}
	}
	return false
}
