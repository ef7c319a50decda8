package catalog

import "fmt"

// memoryRange is the memory Fargate accepts for one CPU size, in MiB.
type memoryRange struct {
	min, max, step int32
	// list, when set, replaces the range (the smallest size takes three values only).
	list []int32
}

func (m memoryRange) describe() string {
	if m.list != nil {
		return fmt.Sprintf("one of %v", m.list)
	}
	return fmt.Sprintf("%d–%d in %d steps", m.min, m.max, m.step)
}

// fargateMemory: the task sizes of
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
var fargateMemory = map[int32]memoryRange{
	256:   {list: []int32{512, 1024, 2048}},
	512:   {min: 1024, max: 4096, step: 1024},
	1024:  {min: 2048, max: 8192, step: 1024},
	2048:  {min: 4096, max: 16384, step: 1024},
	4096:  {min: 8192, max: 30720, step: 1024},
	8192:  {min: 16384, max: 61440, step: 4096},
	16384: {min: 32768, max: 122880, step: 8192},
}

func validMemory(cpu, memory int32) bool {
	m, ok := fargateMemory[cpu]
	if !ok {
		return false
	}
	if m.list != nil {
		for _, v := range m.list {
			if v == memory {
				return true
			}
		}
		return false
	}
	return memory >= m.min && memory <= m.max && (memory-m.min)%m.step == 0
}
