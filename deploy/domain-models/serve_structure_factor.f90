! The Fortran structure factor served by a program of its own through libdemos_maas.so (the
! alternative to `maas serve --native`): the same evaluate callback and metadata as the plugin,
! registered with the Fortran binding.
!
! Build (libdemos_maas.so in $LIB, the binding module compiled from bindings/fortran/src):
!   gfortran -O2 -J build -c bindings/fortran/src/demos_maas.f90 -o build/demos_maas.o
!   gfortran -O2 -J build -I build deploy/domain-models/structure_factor.f90 \
!       deploy/domain-models/serve_structure_factor.f90 build/demos_maas.o \
!       -L $LIB -ldemos_maas -Wl,-rpath,$LIB -o serve_structure_factor
! Run:  ./serve_structure_factor tcp://127.0.0.1:5000 [more URIs]
program serve_structure_factor
  use, intrinsic :: iso_c_binding
  use demos_maas
  use structure_factor_plugin, only: evaluate, metadata_text
  implicit none
  type(maas_server) :: server
  type(maas_model_callbacks) :: callbacks
  character(len=4096) :: uri
  character(len=:), allocatable :: bound
  integer :: i

  call check(maas_server_create(server, '{"log_level": "warning"}'))
  callbacks%evaluate = c_funloc(evaluate)
  call check(maas_server_register(server, metadata_text, callbacks))
  do i = 1, max(1, command_argument_count())
     uri = 'tcp://127.0.0.1:5000'
     if (command_argument_count() > 0) call get_command_argument(i, uri)
     call check(maas_server_listen(server, trim(uri), bound))
     write(*, '(A)') 'listening ' // bound
     flush(6)
  end do
  call check(maas_server_serve(server))
contains
  subroutine check(status)
    integer, intent(in) :: status
    if (status /= MAAS_OK) then
       write(0, *) 'error ', status, ': ', maas_last_error()
       error stop 1
    end if
  end subroutine check
end program serve_structure_factor
