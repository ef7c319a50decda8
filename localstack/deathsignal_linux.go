package localstack

import "syscall"

// setParentDeathSignal asks Linux to SIGKILL moto when this process dies without calling Stop
// (a test timeout's panic, a crash, a kill), so no emulator outlives its test binary.
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
