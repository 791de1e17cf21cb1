! Template: a Fortran model served by `maas serve --native ./libplugin_model.so`, with no main and no
! server code (the Fortran counterpart of deploy/native-model/model.c). Replace the metadata and the
! procedures; keep the three exported entry points. It does not link libdemos_maas.so: maas loads it.
!
! The model: a normal distribution in d = 2 dimensions, log p(x | mu, sigma), theta = (mu, sigma).
!
! Build: make plugin               (or: gfortran -O2 -shared -fPIC plugin_model.f90 -o libplugin_model.so)
! Serve: maas serve --native ./build/libplugin_model.so --listen tcp://127.0.0.1:5000
module plugin_model
  use, intrinsic :: iso_c_binding
  implicit none
  private

  !> The C struct maas_model_callbacks of bindings/c/demos_maas.h, field by field (c_null_funptr = absent).
  type, bind(C) :: model_callbacks
     type(c_ptr) :: user_data = c_null_ptr
     type(c_funptr) :: log_density = c_null_funptr
     type(c_funptr) :: gradient = c_null_funptr
     type(c_funptr) :: gradient_theta = c_null_funptr
     type(c_funptr) :: evaluate = c_null_funptr
     type(c_funptr) :: vjp = c_null_funptr
     type(c_funptr) :: jvp = c_null_funptr
     type(c_funptr) :: sampler = c_null_funptr
  end type model_callbacks

  character(kind=c_char, len=*), parameter :: metadata = '{"name": "fortran_normal", "version": "1.0.0", ' // &
       '"input_dim": 2, "description": "Normal distribution served from a Fortran plugin.", ' // &
       '"parameters": [{"name": "mu", "default": 0}, {"name": "sigma", "default": 1, "lower": 1e-12}]}' // c_null_char

  ! Returned to C as pointers, so they need the target attribute and must outlive the call.
  character(kind=c_char), target, save :: metadata_c(len(metadata))
  ! Callbacks may run on several threads at once; this template keeps one message (a real model
  ! that fails often from many threads would keep one per thread, e.g. with OpenMP threadprivate).
  character(kind=c_char), target, save :: error_c(256) = c_null_char

  public :: maas_plugin_metadata, maas_plugin_callbacks, maas_plugin_error

contains

  type(c_ptr) function maas_plugin_metadata() bind(C, name='maas_plugin_metadata')
    integer :: i
    do i = 1, len(metadata)
       metadata_c(i) = metadata(i:i)
    end do
    maas_plugin_metadata = c_loc(metadata_c)
  end function maas_plugin_metadata

  type(c_ptr) function maas_plugin_error() bind(C, name='maas_plugin_error')
    maas_plugin_error = c_loc(error_c)
  end function maas_plugin_error

  integer(c_int) function maas_plugin_callbacks(callbacks) bind(C, name='maas_plugin_callbacks')
    type(model_callbacks), intent(out) :: callbacks
    callbacks = model_callbacks()
    callbacks%log_density = c_funloc(log_density)
    maas_plugin_callbacks = 0
  end function maas_plugin_callbacks

  !> log p(x(:, i) | mu, sigma) for each of the n points (x arrives column-major as d x n).
  integer(c_int) function log_density(x, n, d, theta, p, out, user_data) bind(C) result(status)
    integer(c_int64_t), value :: n, d, p
    real(c_double), intent(in) :: x(d, n), theta(p)
    real(c_double), intent(out) :: out(n)
    type(c_ptr), value :: user_data
    integer(c_int64_t) :: i
    if (theta(2) <= 0) then
       call set_error('sigma must be positive')
       status = 1
       return
    end if
    do i = 1, n
       out(i) = -0.5d0 * sum(((x(:, i) - theta(1)) / theta(2))**2) - d * log(theta(2) * sqrt(8 * atan(1.0d0)))
    end do
    status = 0
  end function log_density

  subroutine set_error(message)
    character(len=*), intent(in) :: message
    integer :: i
    do i = 1, min(len(message), size(error_c) - 1)
       error_c(i) = message(i:i)
    end do
    error_c(min(len(message), size(error_c) - 1) + 1) = c_null_char
  end subroutine set_error
end module plugin_model
