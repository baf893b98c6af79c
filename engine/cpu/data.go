package cpu

import (
	"fmt"
	"reflect"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

func (b *Backend) buffer(x backends.Buffer) (*Buffer, error) {
	buf, ok := x.(*Buffer)
	if !ok || buf == nil {
		return nil, fmt.Errorf("backend cpu: not a cpu buffer: %T", x)
	}
	if buf.store == nil {
		return nil, fmt.Errorf("backend cpu: buffer %s used after it was finalized", buf.shape)
	}
	return buf, nil
}

// BufferFinalize implements backends.DataInterface.
func (b *Backend) BufferFinalize(x backends.Buffer) error {
	buf, err := b.buffer(x)
	if err != nil {
		return err
	}
	b.release(buf)
	return nil
}

// BufferShape implements backends.DataInterface.
func (b *Backend) BufferShape(x backends.Buffer) (shapes.Shape, error) {
	buf, err := b.buffer(x)
	if err != nil {
		return shapes.Invalid(), err
	}
	return buf.shape, nil
}

// BufferDeviceNum implements backends.DataInterface.
func (b *Backend) BufferDeviceNum(backends.Buffer) (backends.DeviceNum, error) { return 0, nil }

// BufferToFlatData implements backends.DataInterface.
func (b *Backend) BufferToFlatData(x backends.Buffer, flat any) error {
	buf, err := b.buffer(x)
	if err != nil {
		return err
	}
	if reflect.TypeOf(flat) != reflect.TypeOf(buf.flat) {
		return fmt.Errorf("backend cpu: copying a %s buffer into %T", buf.shape.DType, flat)
	}
	if n := reflect.ValueOf(flat).Len(); n != buf.shape.Size() {
		return fmt.Errorf("backend cpu: copying %d elements into a slice of %d", buf.shape.Size(), n)
	}
	reflect.Copy(reflect.ValueOf(flat), reflect.ValueOf(buf.flat).Slice(0, buf.shape.Size()))
	return nil
}

// BufferFromFlatData implements backends.DataInterface.
func (b *Backend) BufferFromFlatData(_ backends.DeviceNum, flat any, shape shapes.Shape) (backends.Buffer, error) {
	if !isSupported(shape.DType) {
		return nil, fmt.Errorf("backend cpu: dtype %s is not supported", shape.DType)
	}
	if n := reflect.ValueOf(flat).Len(); n != shape.Size() {
		return nil, fmt.Errorf("backend cpu: %d elements for shape %s", n, shape)
	}
	buf := b.newBuffer(shape)
	if reflect.TypeOf(flat) != reflect.TypeOf(buf.flat) {
		b.release(buf)
		return nil, fmt.Errorf("backend cpu: %T data for a %s buffer", flat, shape.DType)
	}
	reflect.Copy(reflect.ValueOf(buf.flat), reflect.ValueOf(flat))
	return buf, nil
}

// HasSharedBuffers implements backends.DataInterface: host tensors can
// share memory with cpu buffers.
func (b *Backend) HasSharedBuffers() bool { return true }

// NewSharedBuffer implements backends.DataInterface.
func (b *Backend) NewSharedBuffer(_ backends.DeviceNum, shape shapes.Shape) (backends.Buffer, any, error) {
	if !isSupported(shape.DType) {
		return nil, nil, fmt.Errorf("backend cpu: dtype %s is not supported", shape.DType)
	}
	buf := b.newBuffer(shape)
	return buf, buf.flat, nil
}

// BufferData implements backends.DataInterface.
func (b *Backend) BufferData(x backends.Buffer) (any, error) {
	buf, err := b.buffer(x)
	if err != nil {
		return nil, err
	}
	return buf.flat, nil
}

// BufferCopyToDevice implements backends.DataInterface.
func (b *Backend) BufferCopyToDevice(x backends.Buffer, _ backends.DeviceNum) (backends.Buffer, error) {
	buf, err := b.buffer(x)
	if err != nil {
		return nil, err
	}
	out := b.newBuffer(buf.shape)
	reflect.Copy(reflect.ValueOf(out.flat), reflect.ValueOf(buf.flat))
	return out, nil
}
