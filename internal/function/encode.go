package function

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// toStruct encodes a typed object straight into the protobuf Struct of a
// desired resource, as composed.From followed by resource.AsStruct would,
// without their JSON round trip and intermediate map. It is the hot path of
// every RunFunction: encoding four managed resources that way cost more than
// half of the function's allocations. TestToStruct holds it equal to
// composed.From for every kind the function composes.
//
// Like composed.From it omits empty values of omitempty fields, including
// empty structs such as a zero status or creationTimestamp.
func toStruct(o any) (*structpb.Struct, error) { return (&encoder{}).toStruct(o) }

// An encoder hands out protobuf values from chunks it allocates, so that
// encoding costs a few allocations per resource rather than two per value
// (a Value and its kind). One encoder serves one response; the values it
// hands out are never copied, only pointed to.
type encoder struct {
	vals    []structpb.Value
	strs    []structpb.Value_StringValue
	objs    []structpb.Value_StructValue
	structs []structpb.Struct
}

const chunk = 64

func (e *encoder) value() *structpb.Value {
	if len(e.vals) == 0 {
		e.vals = make([]structpb.Value, chunk)
	}
	v := &e.vals[0]
	e.vals = e.vals[1:]
	return v
}

func (e *encoder) str(s string) *structpb.Value {
	if len(e.strs) == 0 {
		e.strs = make([]structpb.Value_StringValue, chunk)
	}
	k := &e.strs[0]
	e.strs = e.strs[1:]
	k.StringValue = s
	v := e.value()
	v.Kind = k
	return v
}

func (e *encoder) object(fields map[string]*structpb.Value) *structpb.Value {
	if len(e.structs) == 0 {
		e.structs = make([]structpb.Struct, chunk/2)
		e.objs = make([]structpb.Value_StructValue, chunk/2)
	}
	s, k := &e.structs[0], &e.objs[0]
	e.structs, e.objs = e.structs[1:], e.objs[1:]
	s.Fields = fields
	k.StructValue = s
	v := e.value()
	v.Kind = k
	return v
}

func (e *encoder) toStruct(o any) (*structpb.Struct, error) {
	v, err := e.encode(reflect.ValueOf(o))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return &structpb.Struct{Fields: map[string]*structpb.Value{}}, nil
	}
	s := v.GetStructValue()
	if s == nil {
		return nil, errors.Errorf("cannot encode %T as an object", o)
	}
	return s, nil
}

var (
	quantityType = reflect.TypeFor[resource.Quantity]()
	timeType     = reflect.TypeFor[metav1.Time]()
	marshaler    = reflect.TypeFor[json.Marshaler]()
)

// encode returns nil for a value that omitempty omits.
func (e *encoder) encode(v reflect.Value) (*structpb.Value, error) {
	switch v.Type() {
	case quantityType:
		if v.CanAddr() {
			return e.str(v.Addr().Interface().(*resource.Quantity).String()), nil
		}
		q := v.Interface().(resource.Quantity)
		return e.str(q.String()), nil
	case timeType:
		t := v.Interface().(metav1.Time)
		if t.IsZero() {
			return nil, nil
		}
		return e.str(t.UTC().Format(time.RFC3339)), nil
	}
	// Only structs of the APIs we encode have their own MarshalJSON, e.g.
	// IntOrString; checking only them keeps the check off the hot path.
	if v.Kind() == reflect.Struct && v.Type().Implements(marshaler) {
		return encodeJSON(v)
	}

	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return e.encode(v.Elem())
	case reflect.Struct:
		return e.encodeStruct(v)
	case reflect.Map:
		if v.Len() == 0 {
			return nil, nil
		}
		fields := make(map[string]*structpb.Value, v.Len())
		if m, ok := v.Interface().(map[string]string); ok {
			for k, s := range m {
				fields[k] = e.str(s)
			}
			return e.object(fields), nil
		}
		it := v.MapRange()
		for it.Next() {
			ev, err := e.encode(it.Value())
			if err != nil {
				return nil, err
			}
			if ev == nil {
				ev = structpb.NewNullValue()
			}
			fields[it.Key().String()] = ev
		}
		return e.object(fields), nil
	case reflect.Slice:
		if v.Len() == 0 {
			return nil, nil
		}
		vals := make([]*structpb.Value, v.Len())
		for i := range vals {
			ev, err := e.encode(v.Index(i))
			if err != nil {
				return nil, err
			}
			if ev == nil {
				ev = e.object(map[string]*structpb.Value{})
			}
			vals[i] = ev
		}
		return structpb.NewListValue(&structpb.ListValue{Values: vals}), nil
	case reflect.String:
		if v.Len() == 0 {
			return nil, nil
		}
		return e.str(v.String()), nil
	case reflect.Bool:
		if !v.Bool() {
			return nil, nil
		}
		return structpb.NewBoolValue(true), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() == 0 {
			return nil, nil
		}
		return structpb.NewNumberValue(float64(v.Int())), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() == 0 {
			return nil, nil
		}
		return structpb.NewNumberValue(float64(v.Uint())), nil
	case reflect.Float32, reflect.Float64:
		if v.Float() == 0 {
			return nil, nil
		}
		return structpb.NewNumberValue(v.Float()), nil
	default:
		return nil, errors.Errorf("cannot encode a %s", v.Type())
	}
}

func (e *encoder) encodeStruct(v reflect.Value) (*structpb.Value, error) {
	var fields map[string]*structpb.Value // Made by the first field that is not empty.
	if err := e.encodeFields(v, &fields); err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, nil
	}
	return e.object(fields), nil
}

// encodeFields adds a struct's fields to fields, inlining embedded structs.
func (e *encoder) encodeFields(v reflect.Value, fields *map[string]*structpb.Value) error {
	fs := jsonFields(v.Type())
	for i, f := range fs {
		if f.name == "" {
			continue
		}
		fv := v.Field(i)
		if f.inline {
			if err := e.encodeFields(fv, fields); err != nil {
				return err
			}
			continue
		}
		ev, err := e.encode(fv)
		if err != nil {
			return errors.Wrapf(err, "cannot encode %s", f.name)
		}
		if ev == nil {
			if f.omitempty {
				continue
			}
			ev = zero(fv)
		}
		if *fields == nil {
			*fields = make(map[string]*structpb.Value, min(len(fs), 8)) // At most one group.
		}
		(*fields)[f.name] = ev
	}
	return nil
}

// zero is how JSON spells the zero value of a field without omitempty.
func zero(v reflect.Value) *structpb.Value {
	switch v.Kind() { // Every other kind is null.
	case reflect.String:
		return structpb.NewStringValue("")
	case reflect.Bool:
		return structpb.NewBoolValue(false)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return structpb.NewNumberValue(0)
	case reflect.Struct:
		return structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{}})
	}
	return structpb.NewNullValue()
}

// encodeJSON encodes a type with its own MarshalJSON.
func encodeJSON(v reflect.Value) (*structpb.Value, error) {
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, nil
	}
	return structpb.NewValue(out)
}

// A jsonField is a struct field as encoding/json sees it; name is empty for
// fields it skips.
type jsonField struct {
	name      string
	omitempty bool
	inline    bool
}

var fieldCache sync.Map // reflect.Type -> []jsonField

func jsonFields(t reflect.Type) []jsonField {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]jsonField)
	}
	out := make([]jsonField, t.NumField())
	for i := range out {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := jsonField{name: name, omitempty: strings.Contains(","+opts+",", ",omitempty,")}
		if name == "" {
			f.name = sf.Name
			f.inline = sf.Anonymous || strings.Contains(","+opts+",", ",inline,")
		}
		out[i] = f
	}
	fieldCache.Store(t, out)
	return out
}
