! The Fortran binding end to end: the legacy ring model served from Fortran bind(C) procedures and
! called by the Fortran client over tcp and pipe, plus the error paths across the boundary.
program test_fortran
  use, intrinsic :: iso_c_binding
  use demos_maas
  use ring_model
  implicit none
  integer :: passed = 0, failed = 0
  type(maas_server) :: server
  type(maas_client) :: nobody
  character(len=:), allocatable :: tcp, pipe, json
  character(len=64) :: pid_text

  call expect(len(maas_version()) > 0, 'version')
  call expect(maas_close(nobody) == MAAS_INVALID_ARGUMENT, 'NULL client handle')
  call expect(index(maas_last_error(), 'NULL') > 0, 'NULL handle message')
  call expect(maas_connect(nobody, 'pipe:///tmp/demos-maas-fortran-nobody.sock') == MAAS_UNAVAILABLE, 'connect to nothing')

  call expect(maas_server_create(server, '{"log_level": "error"}') == MAAS_OK, 'server_create')
  call expect(register_ring(server, 'ring') == MAAS_OK, 'register legacy model')
  call expect(register_ring(server, 'ring') == MAAS_INVALID_ARGUMENT, 'duplicate model')
  call expect(maas_server_register_example(server, 'gaussian2d') == MAAS_OK, 'register example')
  call expect(maas_server_listen(server, 'tcp://127.0.0.1:0', tcp) == MAAS_OK, 'listen tcp')
  write(pid_text, '(I0)') getpid_portable()
  call expect(maas_server_listen(server, 'pipe:///tmp/demos-maas-ftest-' // trim(pid_text) // '.sock', pipe) == MAAS_OK, &
       'listen pipe')

  call client_suite(tcp)
  call client_suite(pipe)
  call readme_example_suite()

  call expect(maas_server_stop(server) == MAAS_OK, 'stop')
  call expect(maas_server_free(server) == MAAS_OK, 'free')
  call expect(maas_server_free(server) == MAAS_INVALID_ARGUMENT, 'free twice')

  write(*, '(A, I0, A, I0, A)') 'fortran: ', passed, ' passed, ', failed, ' failed'
  if (failed /= 0) error stop 1

contains

  subroutine client_suite(uri)
    character(len=*), intent(in) :: uri
    type(maas_client) :: client
    real(c_double) :: x(2, 5), logp(5), expected(5), small(2), draws(2, 300), again(2, 300), mu(2), g(2, 5)
    real(c_double) :: theta(2), data(2, 200)
    integer(c_int64_t) :: n, rows, cols
    integer :: i
    logical :: exact

    call expect(maas_connect(client, uri) == MAAS_OK, 'connect ' // uri)
    call expect(maas_model_info(client, 'ring', json) == MAAS_OK .and. index(json, '"input_dim":2') > 0, 'model info')
    call description_suite(client)
    x = reshape([1.0d0, 1.0d0, 2.0d0, 0.0d0, 0.0d0, -2.5d0, 0.1d0, 0.2d0, -3.0d0, 4.0d0], [2, 5])
    call expect(maas_log_density(client, 'ring', x, logp) == MAAS_OK, 'log_density')
    call ring_reference(x, expected)
    exact = .true.
    do i = 1, 5
       if (abs(logp(i) - expected(i)) > 1d-12 * abs(expected(i)) + 1d-300) exact = .false.
    end do
    call expect(exact, 'log_density equals the legacy routine')

    theta = [1.0d0, 2.0d0]
    call expect(maas_log_density(client, 'ring', x, logp, theta) == MAAS_OK, 'explicit theta')
    call expect(abs(logp(3) - (-0.5d0 * ((2.5d0 - 1.0d0) / 2.0d0)**2 - log(2.0d0))) < 1d-12, 'explicit theta value')

    call expect(maas_log_density(client, 'ring', x, small) == MAAS_INVALID_ARGUMENT, 'too-small output')
    call expect(index(maas_last_error(), 'needed') > 0, 'too-small output message')
    call expect(maas_log_density(client, 'nope', x, logp) == MAAS_NOT_FOUND, 'unknown model')
    call expect(maas_gradient(client, 'ring', MAAS_GRADIENT_X, x, g) == MAAS_UNSUPPORTED, 'missing capability')

    theta = [1.0d0, -1.0d0]
    call expect(maas_log_density(client, 'ring', x, logp, theta) == MAAS_MODEL_ERROR, 'callback rejects theta')
    call expect(index(maas_last_error(), 'the width w must be positive') > 0, 'callback rejects theta: message')
    x(1, 2) = ieee_nan()
    call expect(maas_log_density(client, 'ring', x, logp) == MAAS_MODEL_ERROR, 'callback error')
    call expect(index(maas_last_error(), 'ring: x is not a number') > 0, 'callback error message: ' // maas_last_error())
    x(1, 2) = 2.0d0
    call expect(maas_log_density(client, 'ring', x, logp) == MAAS_OK, 'works after a callback error')

    call expect(maas_sample(client, 'ring', 7_c_int64_t, draws) == MAAS_OK, 'sample')
    call expect(maas_sample(client, 'ring', 7_c_int64_t, again) == MAAS_OK, 'sample again')
    call expect(all(draws == again), 'sample reproducible')
    call expect(abs(sum(sqrt(draws(1, :)**2 + draws(2, :)**2)) / 300 - 2.0d0) < 0.2d0, 'draws on the ring')

    call expect(maas_update_parameter(client, 'ring', 'r0', [3.0d0]) == MAAS_OK, 'update parameter')
    call expect(maas_get_parameter(client, 'ring', 'r0', mu, n) == MAAS_OK .and. n == 1 .and. mu(1) == 3.0d0, &
         'get parameter')
    call expect(maas_update_parameter(client, 'ring', 'r0', [2.0d0]) == MAAS_OK, 'restore parameter')

    call expect(maas_read_data(client, 'gaussian2d', 'draws', data, rows, cols, 10_c_int64_t, 100_c_int64_t) == MAAS_OK &
         .and. rows == 100 .and. cols == 2, 'read_data')
    call expect(maas_read_data(client, 'gaussian2d', 'draws', data, rows, cols) == MAAS_INVALID_ARGUMENT .and. rows == 1000, &
         'read_data: buffer too small reports the shape')
    call expect(maas_read_data(client, 'gaussian2d', 'nope', data, rows, cols) == MAAS_NOT_FOUND, 'unknown dataset')
    call expect(maas_update_parameters(client, 'ring', '{"w": 0.25}', json) == MAAS_OK .and. index(json, '0.25') > 0, &
         'update_parameters (JSON)')
    call expect(maas_get_parameters(client, 'ring', json) == MAAS_OK .and. index(json, '"r0":[2]') > 0, 'get_parameters (JSON)')
    call expect(maas_update_parameters(client, 'ring', '{"w": 0.5}', json) == MAAS_OK, 'restore w')
    call expect(maas_update_parameters(client, 'ring', '{bad', json) == MAAS_INVALID_ARGUMENT, 'bad JSON')

    call expect(maas_close(client) == MAAS_OK, 'close')
    call expect(maas_log_density(client, 'ring', x, logp) == MAAS_INVALID_ARGUMENT, 'closed client')
    call expect(index(maas_last_error(), 'closed') > 0, 'closed client message')
  end subroutine client_suite

  ! The model's description through the accessors (no JSON), and their failures.
  subroutine description_suite(client)
    type(maas_client), intent(in) :: client
    type(maas_client) :: nobody
    integer(c_int64_t) :: d, count, sizes(4), one(1)
    integer(c_int32_t) :: caps
    character(len=:), allocatable :: text, uuid
    integer :: status
    ! Each call is made before its outputs are tested: Fortran may evaluate the operands of .and. in any order.
    status = maas_model_input_dim(client, 'ring', d)
    call expect(status == MAAS_OK .and. d == 2, 'input_dim')
    status = maas_model_output_dim(client, 'ring', d)
    call expect(status == MAAS_OK .and. d == 0, 'output_dim')
    status = maas_model_parameter_count(client, 'ring', d)
    call expect(status == MAAS_OK .and. d == 2, 'parameter_count')
    status = maas_model_capabilities(client, 'ring', caps)
    call expect(status == MAAS_OK .and. iand(caps, MAAS_CAP_LOG_DENSITY) /= 0 .and. iand(caps, MAAS_CAP_SAMPLE) /= 0 &
         .and. iand(caps, MAAS_CAP_GRADIENT_X) == 0, 'capabilities')
    status = maas_model_name(client, 'ring', text)
    call expect(status == MAAS_OK .and. text == 'ring', 'name')
    status = maas_model_version(client, 'ring', text)
    call expect(status == MAAS_OK .and. text == '1977.1', 'version')
    status = maas_model_uuid(client, 'ring', uuid)
    call expect(status == MAAS_OK .and. len(uuid) == 36, 'uuid')
    status = maas_model_name(client, uuid, text)
    call expect(status == MAAS_OK .and. text == 'ring', 'name of a model named by uuid')
    status = maas_model_parameter_sizes(client, 'ring', sizes, count)
    call expect(status == MAAS_OK .and. count == 2 .and. all(sizes(1:2) == 1), 'parameter sizes')
    status = maas_model_parameter_sizes(client, 'ring', one, count)
    call expect(status == MAAS_INVALID_ARGUMENT .and. count == 2, 'parameter sizes: too small reports the count')
    status = maas_model_parameter_name(client, 'ring', 1, text)
    call expect(status == MAAS_OK .and. text == 'r0', 'parameter name 1')
    status = maas_model_parameter_name(client, 'ring', 2, text)
    call expect(status == MAAS_OK .and. text == 'w', 'parameter name 2')
    status = maas_model_parameter_name(client, 'ring', 3, text)
    call expect(status == MAAS_INVALID_ARGUMENT .and. text == '', 'parameter name out of range')
    status = maas_model_input_dim(client, 'nope', d)
    call expect(status == MAAS_NOT_FOUND .and. d == 0, 'input_dim of an unknown model')
    call expect(maas_status_name(MAAS_NOT_FOUND) == 'NotFound' .and. maas_status_name(99) == 'Unknown', 'status names')
    call expect(maas_model_input_dim(nobody, 'ring', d) == MAAS_INVALID_ARGUMENT, 'input_dim: NULL handle')
    status = maas_model_name(nobody, 'ring', text)
    call expect(status == MAAS_INVALID_ARGUMENT .and. text == '', 'name: NULL handle')
  end subroutine description_suite

  ! The README's example (cut out of README.md by the Makefile) runs and succeeds.
  subroutine readme_example_suite()
    character(len=4096) :: self
    integer :: exit_status, slash
    call get_command_argument(0, self)
    slash = index(self, '/', back=.true.)
    exit_status = -1
    call execute_command_line(self(1:slash) // 'readme_model_description', exitstat=exit_status)
    call expect(exit_status == 0, 'README example (model description)')
  end subroutine readme_example_suite

  subroutine expect(condition, what)
    logical, intent(in) :: condition
    character(len=*), intent(in) :: what
    if (condition) then
       passed = passed + 1
    else
       failed = failed + 1
       write(*, '(A)') 'FAIL ' // what // ' [last error: ' // maas_last_error() // ']'
    end if
  end subroutine expect

  real(c_double) function ieee_nan()
    use, intrinsic :: ieee_arithmetic
    ieee_nan = ieee_value(1.0d0, ieee_quiet_nan)
  end function ieee_nan

  integer function getpid_portable()
    interface
       integer(c_int) function c_getpid() bind(C, name="getpid")
         import :: c_int
       end function
    end interface
    getpid_portable = c_getpid()
  end function getpid_portable
end program test_fortran
