package cpu

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

const (
	opScatterSum = backends.OpTypeScatterSum
	opScatterMax = backends.OpTypeScatterMax
)

// kernelFor returns the kernel that runs op.
func kernelFor(op backends.OpType) (kernel, error) {
	switch op {
	case backends.OpTypeIdentity:
		return identityKernel, nil
	case backends.OpTypeReshape:
		return reshapeKernel, nil
	case backends.OpTypeAbs, backends.OpTypeNeg, backends.OpTypeExp, backends.OpTypeExpm1, backends.OpTypeLog,
		backends.OpTypeLog1p, backends.OpTypeSqrt, backends.OpTypeRsqrt, backends.OpTypeFloor, backends.OpTypeCeil,
		backends.OpTypeRound, backends.OpTypeSign, backends.OpTypeLogistic, backends.OpTypeTanh, backends.OpTypeErf,
		backends.OpTypeCos, backends.OpTypeSin, backends.OpTypeLogicalNot, backends.OpTypeBitwiseNot:
		return unaryKernel, nil
	case backends.OpTypeIsFinite, backends.OpTypeIsNaN:
		return predicateKernel, nil
	case backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul, backends.OpTypeDiv, backends.OpTypePow,
		backends.OpTypeRem, backends.OpTypeMax, backends.OpTypeMin, backends.OpTypeBitwiseAnd, backends.OpTypeBitwiseOr,
		backends.OpTypeBitwiseXor, backends.OpTypeLogicalAnd, backends.OpTypeLogicalOr, backends.OpTypeLogicalXor,
		backends.OpTypeShiftLeft, backends.OpTypeShiftRightLogical, backends.OpTypeShiftRightArithmetic:
		return binaryKernel, nil
	case backends.OpTypeEqual, backends.OpTypeNotEqual, backends.OpTypeGreaterOrEqual, backends.OpTypeGreaterThan,
		backends.OpTypeLessOrEqual, backends.OpTypeLessThan:
		return compareKernel, nil
	case backends.OpTypeWhere:
		return whereKernel, nil
	case backends.OpTypeClamp:
		return clampKernel, nil
	case backends.OpTypeConvertDType:
		return convertKernel, nil
	case backends.OpTypeTranspose:
		return transposeKernel, nil
	case backends.OpTypeBroadcastInDim:
		return broadcastInDimKernel, nil
	case backends.OpTypeSlice:
		return sliceKernel, nil
	case backends.OpTypeConcatenate:
		return concatenateKernel, nil
	case backends.OpTypePad:
		return padKernel, nil
	case backends.OpTypeReverse:
		return reverseKernel, nil
	case backends.OpTypeIota:
		return iotaKernel, nil
	case backends.OpTypeReduceSum, backends.OpTypeReduceMax, backends.OpTypeReduceMin, backends.OpTypeReduceProduct,
		backends.OpTypeReduceLogicalAnd, backends.OpTypeReduceLogicalOr:
		return reduceKernel, nil
	case backends.OpTypeArgMinMax:
		return argMinMaxKernel, nil
	case backends.OpTypeReduceWindow:
		return reduceWindowKernel, nil
	case backends.OpTypeSelectAndScatterMax, backends.OpTypeSelectAndScatterMin:
		return selectAndScatterKernel, nil
	case backends.OpTypeDotGeneral:
		return dotKernel, nil
	case backends.OpTypeConvGeneral:
		return convKernel, nil
	case backends.OpTypeGather:
		return gatherKernel, nil
	case backends.OpTypeScatterSum, backends.OpTypeScatterMax, backends.OpTypeScatterMin:
		return scatterKernel, nil
	case backends.OpTypeRNGBitGenerator:
		return rngKernel, nil
	case backends.OpTypeBatchNormForTraining:
		return bnTrainingKernel, nil
	case backends.OpTypeBatchNormGradient:
		return bnGradientKernel, nil
	}
	return nil, fmt.Errorf("backend cpu: op %s is not implemented", op)
}

// Capabilities implements backends.Backend.
func (b *Backend) Capabilities() backends.Capabilities {
	c := backends.Capabilities{Operations: map[backends.OpType]bool{}, DTypes: map[dtypes.DType]bool{}}
	for op := backends.OpType(0); op < backends.OpTypeLast; op++ {
		if _, err := kernelFor(op); err == nil {
			c.Operations[op] = true
		}
	}
	for _, op := range []backends.OpType{backends.OpTypeParameter, backends.OpTypeConstant, backends.OpTypeDot} {
		c.Operations[op] = true
	}
	for _, dt := range supportedDTypes {
		c.DTypes[dt] = true
	}
	return c
}
