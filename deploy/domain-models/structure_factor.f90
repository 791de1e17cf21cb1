! The "structure-factor" model in Fortran, served by `maas serve --native libstructure_factor.so`
! (no main, no server code): S(k) of hard spheres in the Percus-Yevick approximation (Wertheim's
! solution) and of the one-component plasma in the Debye-Hueckel limit. The same physics as
! src/Demos.Maas.Models/StructureFactors.cs, written the way legacy code is: a pure numerical
! module, wrapped by a thin bind(C) layer that implements the plugin entry points of
! bindings/c/demos_maas.h.
!
! Build: gfortran -O2 -shared -fPIC -o libstructure_factor.so structure_factor.f90
! Serve: maas serve --native ./libstructure_factor.so --listen tcp://127.0.0.1:5000

module structure_factors
  implicit none
  private
  public :: hard_sphere_py, ocp_debye_hueckel
  integer, parameter :: dp = kind(1.0d0)
contains
  !> S(q) of hard spheres at packing fraction eta, q = k sigma; 1 / (1 - rho c(q)).
  pure real(dp) function hard_sphere_py(q, eta) result(s)
    real(dp), intent(in) :: q, eta
    real(dp) :: d4, alpha, beta, gamma, sum, term, sq, cq, q2, bracket, rhoc
    integer :: n
    d4 = (1 - eta)**4
    alpha = (1 + 2 * eta) * (1 + 2 * eta) / d4
    beta = -6 * eta * (1 + eta / 2) * (1 + eta / 2) / d4
    gamma = eta * alpha / 2
    if (abs(q) < 1) then
       ! The closed form cancels badly below q = 1: sum the Taylor series of the transform instead.
       sum = 0
       term = 1
       do n = 0, 11
          sum = sum + term * (alpha / (2 * n + 3) + beta / (2 * n + 4) + gamma / (2 * n + 6))
          term = term * (-q * q / ((2 * n + 2) * (2 * n + 3)))
       end do
       rhoc = -24 * eta * sum
    else
       sq = sin(abs(q))
       cq = cos(abs(q))
       q2 = q * q
       bracket = alpha * q2 * abs(q) * (sq - abs(q) * cq) &
            + beta * q2 * (2 * abs(q) * sq - (q2 - 2) * cq - 2) &
            + gamma * ((4 * q2 * abs(q) - 24 * abs(q)) * sq - (q2 * q2 - 12 * q2 + 24) * cq + 24)
       rhoc = -24 * eta * bracket / (q2 * q2 * q2)
    end if
    s = 1 / (1 - rhoc)
  end function hard_sphere_py

  !> S(k a) of the one-component plasma at coupling gamma in the Debye-Hueckel limit.
  pure real(dp) function ocp_debye_hueckel(ka, gamma) result(s)
    real(dp), intent(in) :: ka, gamma
    if (ka == 0 .and. gamma == 0) then
       s = 1
    else
       s = ka * ka / (ka * ka + 3 * gamma)
    end if
  end function ocp_debye_hueckel
end module structure_factors

module structure_factor_plugin
  use, intrinsic :: iso_c_binding
  use structure_factors
  implicit none
  private
  public :: maas_plugin_metadata, maas_plugin_callbacks, maas_plugin_error, evaluate, metadata_text

  !> The layout of maas_model_callbacks in demos_maas.h.
  type, bind(C) :: model_callbacks
     type(c_ptr) :: user_data
     type(c_funptr) :: log_density, gradient, gradient_theta, evaluate, vjp, jvp, sampler
  end type model_callbacks

  character(len=*), parameter :: metadata_text = &
       '{"name": "structure-factor", "version": "1.0.0", "input_dim": 1, "output_dim": 2,' // &
       ' "uuid": "0b6f2a52-7a9e-4d0e-9a43-3c2f1d1e0a15", "authors": ["Demos.Maas examples"],' // &
       ' "description": "Static structure factors (Fortran): hard spheres (Percus-Yevick) and the' // &
       ' one-component plasma (Debye-Hueckel); x = (k), output (S_hs(k sigma), S_ocp(k a)).",' // &
       ' "parameters": [{"name": "eta", "default": 0.3, "lower": 0, "upper": 0.7,' // &
       ' "description": "hard-sphere packing fraction"},' // &
       ' {"name": "gamma", "default": 1.0, "lower": 0, "upper": 1000,' // &
       ' "description": "plasma coupling"}]}'
  character(kind=c_char, len=len(metadata_text) + 1), target, save :: metadata = metadata_text // c_null_char
  ! One message per thread would need OpenMP threadprivate; the callbacks here fail only on bad
  ! parameters, and every thread then writes the same kind of text.
  character(kind=c_char, len=128), target, save :: last_error = c_null_char
contains
  type(c_ptr) function maas_plugin_metadata() bind(C, name='maas_plugin_metadata')
    maas_plugin_metadata = c_loc(metadata)
  end function maas_plugin_metadata

  type(c_ptr) function maas_plugin_error() bind(C, name='maas_plugin_error')
    maas_plugin_error = c_loc(last_error)
  end function maas_plugin_error

  integer(c_int) function maas_plugin_callbacks(callbacks) bind(C, name='maas_plugin_callbacks')
    type(model_callbacks), intent(out) :: callbacks
    callbacks = model_callbacks(c_null_ptr, c_null_funptr, c_null_funptr, c_null_funptr, &
         c_funloc(evaluate), c_null_funptr, c_null_funptr, c_null_funptr)
    maas_plugin_callbacks = 0
  end function maas_plugin_callbacks

  !> out(1:2, i) = (S_hs, S_ocp) at k = x(i); theta = (eta, gamma).
  integer(c_int) function evaluate(x, n, d, theta, p, out, user_data) bind(C) result(status)
    integer(c_int64_t), value :: n, d, p
    real(c_double), intent(in) :: x(n), theta(p)
    real(c_double), intent(out) :: out(2, n)
    type(c_ptr), value :: user_data
    integer(c_int64_t) :: i
    if (.not. (theta(1) >= 0 .and. theta(1) < 1) .or. .not. (theta(2) >= 0)) then
       last_error = 'need 0 <= eta < 1 and gamma >= 0' // c_null_char
       status = 1
       return
    end if
    do i = 1, n
       out(1, i) = hard_sphere_py(x(i), theta(1))
       out(2, i) = ocp_debye_hueckel(x(i), theta(2))
    end do
    status = 0
  end function evaluate
end module structure_factor_plugin
